// Copy buttons, and the permission picker's write-needs-read rule (PROTOCOL §5).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      const status = button.parentElement.querySelector("[data-copy-status]");
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
        if (status) status.textContent = "Copied.";
      } catch (err) {
        if (status) status.textContent = "Select the key and copy it with Ctrl+C.";
      }
    });
  }
  for (const picker of document.querySelectorAll("[data-permission-picker]")) {
    const box = (name) => picker.querySelector(`input[value="${name}"]`);
    picker.addEventListener("change", (event) => {
      const input = event.target;
      const name = input.value || "";
      if (name.endsWith("_WRITE") && input.checked) {
        const read = box(name.slice(0, -6) + "_READ");
        if (read) read.checked = true;
      }
      if (name.endsWith("_READ") && !input.checked) {
        const write = box(name.slice(0, -5) + "_WRITE");
        if (write) write.checked = false;
      }
    });
  }
});
