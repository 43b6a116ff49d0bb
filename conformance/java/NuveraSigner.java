// Reference Nuvera request signer in Java, JDK only (Java >= 11). Written from docs/spec/.
//   javac -d build NuveraSigner.java
//   java -cp build NuveraSigner vectors [docs/spec/vectors.json]   check every vector
//   java -cp build NuveraSigner client [credentials.json]          run the conformance plan
import java.io.*;
import java.math.BigInteger;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.security.*;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.*;
import java.util.zip.*;

public class NuveraSigner {
    static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();
    static final String BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static final SecureRandom RANDOM = new SecureRandom();

    static String b64url(byte[] data) { return B64URL.encodeToString(data); }
    static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }
    static byte[] sha256(byte[] data) throws Exception { return MessageDigest.getInstance("SHA-256").digest(data); }
    static String hex(byte[] data) { StringBuilder s = new StringBuilder(); for (byte b : data) s.append(String.format("%02x", b)); return s.toString(); }

    // Minimal JSON reader: objects (LinkedHashMap), arrays, strings, numbers (Long/Double), literals.
    static final class Json {
        final String s; int i;
        Json(String s) { this.s = s; }
        static Object parse(String s) { return new Json(s).value(); }
        void ws() { while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++; }
        Object value() {
            ws(); char c = s.charAt(i);
            if (c == '{') { Map<String, Object> m = new LinkedHashMap<>(); i++; ws();
                if (s.charAt(i) == '}') { i++; return m; }
                while (true) { ws(); String k = string(); ws(); i++; m.put(k, value()); ws(); if (s.charAt(i++) == '}') return m; } }
            if (c == '[') { List<Object> l = new ArrayList<>(); i++; ws();
                if (s.charAt(i) == ']') { i++; return l; }
                while (true) { l.add(value()); ws(); if (s.charAt(i++) == ']') return l; } }
            if (c == '"') return string();
            for (String lit : new String[] {"true", "false", "null"})
                if (s.startsWith(lit, i)) { i += lit.length(); return lit.equals("null") ? null : Boolean.valueOf(lit); }
            int start = i; while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            String num = s.substring(start, i);
            return num.matches("-?\\d+") ? (Object) Long.valueOf(num) : (Object) Double.valueOf(num);
        }
        String string() {
            StringBuilder b = new StringBuilder(); i++;
            for (char c; (c = s.charAt(i++)) != '"';) {
                if (c != '\\') { b.append(c); continue; }
                char e = s.charAt(i++);
                if (e == 'u') { b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; }
                else b.append(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e);
            }
            return b.toString();
        }
    }

    // RFC 8785 for what a token holds (strings and integers): sorted keys, minimal escapes.
    static String jcs(Map<String, Object> m) {
        StringBuilder b = new StringBuilder("{");
        for (String k : new TreeMap<>(m).keySet()) {
            if (b.length() > 1) b.append(',');
            b.append(quote(k)).append(':');
            Object v = m.get(k);
            b.append(v instanceof String ? quote((String) v) : String.valueOf(v));
        }
        return b.append('}').toString();
    }
    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c == '\n') b.append("\\n"); else if (c == '\r') b.append("\\r"); else if (c == '\t') b.append("\\t");
            else if (c == '\b') b.append("\\b"); else if (c == '\f') b.append("\\f");
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
        }
        return b.append('"').toString();
    }

    static RSAPrivateCrtKey loadKey(String pem) throws Exception {  // PEM PKCS#8
        String body = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return (RSAPrivateCrtKey) KeyFactory.getInstance("RSA")
            .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body)));
    }
    static String uint(BigInteger v) {  // unsigned big-endian, no leading zero byte
        byte[] b = v.toByteArray();
        return b64url(b[0] == 0 ? Arrays.copyOfRange(b, 1, b.length) : b);
    }
    static String kidOf(RSAPrivateCrtKey key) throws Exception {
        String jwk = "{\"e\":\"" + uint(key.getPublicExponent()) + "\",\"kty\":\"RSA\",\"n\":\"" + uint(key.getModulus()) + "\"}";
        return b64url(sha256(utf8(jwk)));
    }
    // PROTOCOL §2.1: a bare trailing '?' (empty query) is dropped before signing and sending.
    static String signedUri(String uri) { return uri.indexOf('?') == uri.length() - 1 ? uri.substring(0, uri.length() - 1) : uri; }

    static Map<String, String> sign(RSAPrivateCrtKey key, String method, String uri, byte[] body, long iat, String jti, long ttl) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("signed_uri", signedUri(uri));
        out.put("body_hash", hex(sha256(body)));
        out.put("kid", kidOf(key));
        out.put("header_json", jcs(Map.of("alg", "RS256", "kid", out.get("kid"), "typ", "JWT")));
        out.put("payload_json", jcs(Map.of("aud", "nuvera-rest-api", "body_hash", out.get("body_hash"), "exp", iat + ttl,
            "iat", iat, "iss", "nuvera-api", "jti", jti, "method", method, "uri", out.get("signed_uri"))));
        out.put("signing_input", b64url(utf8(out.get("header_json"))) + "." + b64url(utf8(out.get("payload_json"))));
        Signature rs256 = Signature.getInstance("SHA256withRSA");
        rs256.initSign(key);
        rs256.update(out.get("signing_input").getBytes(StandardCharsets.US_ASCII));
        out.put("token", out.get("signing_input") + "." + b64url(rs256.sign()));
        return out;
    }

    // The API key checks in order (docs/spec/vectors.md): null when valid, else the reason.
    static String apiKeyProblem(String text) {
        String key = text.strip();
        if (key.isEmpty()) return "empty";
        if (!key.startsWith("nvk_")) return "prefix";
        if (!key.startsWith("nvk_live_") && !key.startsWith("nvk_test_")) return "environment";
        if (key.length() != 47) return "length";
        for (char c : key.substring(9).toCharArray()) if (BASE62.indexOf(c) < 0) return "charset";
        CRC32 crc = new CRC32(); crc.update(key.substring(0, 41).getBytes(StandardCharsets.US_ASCII));
        StringBuilder check = new StringBuilder();
        for (long v = crc.getValue(); v > 0; v /= 62) check.insert(0, BASE62.charAt((int) (v % 62)));
        while (check.length() < 6) check.insert(0, '0');
        return check.toString().equals(key.substring(41)) ? null : "checksum";
    }

    @SuppressWarnings("unchecked")
    static boolean runVectors(String path) throws Exception {
        Map<String, Object> doc = (Map<String, Object>) Json.parse(Files.readString(Path.of(path)));
        Map<String, Map<String, Object>> keys = (Map<String, Map<String, Object>>) doc.get("keys");
        int passed = 0, failed = 0;
        for (Object o : (List<Object>) doc.get("vectors")) {
            Map<String, Object> v = (Map<String, Object>) o, in = (Map<String, Object>) v.get("input");
            Map<String, String> got = sign(loadKey((String) keys.get(in.get("key")).get("pem")), (String) in.get("method"),
                (String) in.get("uri"), Base64.getDecoder().decode((String) in.get("body_base64")),
                (Long) in.get("iat"), (String) in.get("jti"), (Long) in.get("ttl"));
            boolean ok = got.equals(v.get("output"));
            if (ok) passed++; else { failed++; System.out.println("FAIL " + v.get("name")); }
        }
        for (Object o : (List<Object>) doc.get("api_keys")) {
            Map<String, Object> k = (Map<String, Object>) o;
            boolean ok = Objects.equals(apiKeyProblem((String) k.get("key")), Boolean.TRUE.equals(k.get("valid")) ? null : k.get("reason"));
            if (ok) passed++; else { failed++; System.out.println("FAIL api key " + k.get("key")); }
        }
        for (Object o : (List<Object>) doc.get("kids")) {
            Map<String, Object> k = (Map<String, Object>) o;
            boolean ok = kidOf(loadKey((String) keys.get(k.get("key")).get("pem"))).equals(k.get("kid"));
            if (ok) passed++; else { failed++; System.out.println("FAIL kid " + k.get("key")); }
        }
        System.out.println(passed + " passed, " + failed + " failed");
        return failed == 0 && passed > 0;
    }

    // One HTTP/1.1 exchange over a socket: the target goes on the request line byte for byte.
    static Object[] send(URI base, String method, String target, Map<String, String> headers, byte[] body, boolean stream) throws IOException {
        try (Socket socket = new Socket(base.getHost(), base.getPort())) {
            OutputStream out = new BufferedOutputStream(socket.getOutputStream());
            StringBuilder head = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: " + base.getHost() + ":" + base.getPort() + "\r\n");
            headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
            head.append(stream ? "Transfer-Encoding: chunked\r\n" : "Content-Length: " + body.length + "\r\n").append("Connection: close\r\n\r\n");
            out.write(utf8(head.toString()));
            if (!stream) out.write(body);
            else {
                for (int i = 0; i < body.length; i += 100) {
                    int n = Math.min(100, body.length - i);
                    out.write(utf8(Integer.toHexString(n) + "\r\n")); out.write(body, i, n); out.write(utf8("\r\n"));
                }
                out.write(utf8("0\r\n\r\n"));
            }
            out.flush();
            String all = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int split = all.indexOf("\r\n\r\n");
            Map<String, String> h = new HashMap<>();
            for (String line : all.substring(0, split).split("\r\n")) {
                int colon = line.indexOf(':');
                if (colon > 0) h.put(line.substring(0, colon).trim().toLowerCase(), line.substring(colon + 1).trim());
            }
            return new Object[] {Integer.parseInt(all.substring(9, 12)), h, all.substring(split + 4)};
        }
    }

    static double offset = 0;  // seconds learned from the server (§4): replaced, never summed

    @SuppressWarnings("unchecked")
    static Object[] call(URI base, String apiKey, RSAPrivateCrtKey key, String method, String target,
                         Map<String, String> headers, byte[] body, boolean stream) throws Exception {
        String uri = signedUri(target);
        boolean idempotent = !method.equals("POST") || headers.keySet().stream().anyMatch(k -> k.equalsIgnoreCase("Idempotency-Key"));
        int retries = 0; boolean resigned = false;
        while (true) {
            long iat = (long) Math.floor(System.currentTimeMillis() / 1000.0 + offset);
            byte[] jti = new byte[16]; RANDOM.nextBytes(jti);  // fresh for every attempt
            Map<String, String> h = new LinkedHashMap<>(headers);
            h.put("x-api-key", apiKey);
            h.put("Authorization", "Bearer " + sign(key, method, uri, body, iat, hex(jti), 30).get("token"));
            Object[] res = send(base, method, uri, h, body, stream);
            int status = (Integer) res[0];
            Map<String, Object> error = Map.of();
            try { error = (Map<String, Object>) ((Map<String, Object>) Json.parse((String) res[2])).getOrDefault("error", Map.of()); } catch (RuntimeException e) { /* not JSON */ }
            Object code = error.get("code");
            if (status == 401 && ("token_expired".equals(code) || "token_not_yet_valid".equals(code)) && !resigned) {
                Object serverTime = ((Map<String, Object>) error.getOrDefault("details", Map.of())).get("server_time");
                offset = ((Number) serverTime).doubleValue() - System.currentTimeMillis() / 1000.0;  // once per call, outside the budget
                resigned = true;
                continue;
            }
            if (List.of(429, 500, 502, 503, 504).contains(status) && idempotent && retries < 2) {
                String after = ((Map<String, String>) res[1]).get("retry-after");
                double wait = after != null ? Double.parseDouble(after) : RANDOM.nextDouble() * Math.min(8, 0.5 * Math.pow(2, retries));
                if (wait > 60) return res;
                retries++;
                Thread.sleep((long) (wait * 1000));
                continue;
            }
            return res;
        }
    }

    @SuppressWarnings("unchecked")
    static boolean runClient(String path) throws Exception {
        Map<String, Object> creds = (Map<String, Object>) Json.parse(Files.readString(Path.of(path)));
        URI base = URI.create((String) creds.get("base_url"));
        Map<String, Object> plan = (Map<String, Object>) Json.parse((String) send(base, "GET", "/conformance/plan", Map.of(), new byte[0], false)[2]);
        RSAPrivateCrtKey key = loadKey((String) creds.get("private_key_pem"));
        for (Object o : (List<Object>) plan.get("cases")) {
            Map<String, Object> c = (Map<String, Object>) o, req = (Map<String, Object>) c.get("request");
            Map<String, String> headers = new LinkedHashMap<>((Map<String, String>) (Map<?, ?>) req.get("headers"));
            headers.put((String) plan.get("case_header"), (String) c.get("id"));
            byte[] body = Base64.getDecoder().decode((String) req.getOrDefault("body_base64", ""));
            if (req.containsKey("multipart")) {
                Map<String, Object> form = (Map<String, Object>) req.get("multipart");
                String boundary = "nuvera-java-" + Long.toHexString(RANDOM.nextLong());
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                for (Object f : (List<Object>) form.get("fields")) {
                    List<Object> pair = (List<Object>) f;
                    b.write(utf8("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + pair.get(0) + "\"\r\n\r\n" + pair.get(1) + "\r\n"));
                }
                for (Object f : (List<Object>) form.get("files")) {
                    Map<String, Object> file = (Map<String, Object>) f;
                    b.write(utf8("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + file.get("name") + "\"; filename=\""
                        + file.get("filename") + "\"\r\nContent-Type: " + file.get("content_type") + "\r\n\r\n"));
                    b.write(Base64.getDecoder().decode((String) file.get("content_base64")));
                    b.write(utf8("\r\n"));
                }
                b.write(utf8("--" + boundary + "--\r\n"));
                body = b.toByteArray();
                headers.put("Content-Type", "multipart/form-data; boundary=" + boundary);
            }
            if (Boolean.TRUE.equals(req.get("gzip"))) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                try (GZIPOutputStream gz = new GZIPOutputStream(b)) { gz.write(body); }
                body = b.toByteArray();
                headers.put("Content-Encoding", "gzip");
            }
            Object[] res = call(base, (String) creds.get("api_key"), key, (String) req.get("method"), (String) req.get("target"),
                headers, body, Boolean.TRUE.equals(req.get("stream")));
            System.out.println(c.get("id") + ": " + res[0]);
        }
        Map<String, Object> report = (Map<String, Object>) Json.parse((String) send(base, "POST", "/conformance/finish", Map.of(), new byte[0], false)[2]);
        System.out.println(report.get("summary"));
        return Boolean.TRUE.equals(report.get("ok"));
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "vectors";
        boolean ok;
        if (mode.equals("vectors")) ok = runVectors(args.length > 1 ? args[1] : "docs/spec/vectors.json");
        else if (mode.equals("client")) ok = runClient(args.length > 1 ? args[1] : System.getenv("NUVERA_CONFORMANCE_CREDENTIALS"));
        else { System.err.println("usage: NuveraSigner vectors [vectors.json] | client [credentials.json]"); ok = false; }
        System.exit(ok ? 0 : 1);
    }
}
