// Generate an RS256 signing key pair in the browser (WebCrypto). The public key
// fills the form; the private key is offered once as a PKCS#8 PEM download and is
// never put in a form field, so it never reaches the server.
"use strict";
function pem(label, buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const lines = btoa(binary).match(/.{1,64}/g).join("\n");
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
}
document.addEventListener("DOMContentLoaded", () => {
  for (const area of document.querySelectorAll("[data-keygen]")) {
    const button = area.querySelector("[data-generate]");
    const status = area.querySelector("[data-keygen-status]");
    const publicField = area.querySelector("[data-public-pem]");
    const downloadArea = area.querySelector("[data-download-area]");
    const link = area.querySelector("[data-download]");
    if (!window.crypto || !window.crypto.subtle) {
      button.disabled = true;
      status.textContent = "This browser cannot generate keys here (WebCrypto needs " +
        "http://127.0.0.1 or https); upload a public key instead.";
      continue;
    }
    button.addEventListener("click", async () => {
      button.disabled = true;
      status.textContent = "Generating an RSA 2048 key pair…";
      try {
        const pair = await crypto.subtle.generateKey(
          { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048,
            publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
          true, ["sign", "verify"]);
        const spki = await crypto.subtle.exportKey("spki", pair.publicKey);
        const pkcs8 = await crypto.subtle.exportKey("pkcs8", pair.privateKey);
        publicField.value = pem("PUBLIC KEY", spki);
        if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
        link.href = URL.createObjectURL(
          new Blob([pem("PRIVATE KEY", pkcs8)], { type: "application/x-pem-file" }));
        downloadArea.hidden = false;
        status.textContent = "Key pair generated. Download the private key now; " +
          "the public key is in the form.";
        link.focus();
      } catch (err) {
        status.textContent = "Key generation failed: " + err;
      } finally {
        button.disabled = false;
      }
    });
  }
});
