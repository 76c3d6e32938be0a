package io.gradstream.architecture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Fails when a file tracked by git holds a private key, a token of a well-known format, or a password, secret or
 * token written as a literal (see {@link SecretPatterns} for the rules and the test-fixture exception). The planted
 * samples below are assembled at run time, so that this file itself stays clean.
 */
class CommittedSecretsTest {
    private static final String ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static final String UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private final Random random = new Random(13);

    @Test
    void noTrackedFileHoldsACredential() throws Exception {
        Path root = Path.of(System.getProperty("gradstream.project.dir", "..")).toAbsolutePath();
        List<String> tracked = trackedFiles(root);
        List<SecretPatterns.Finding> findings = new ArrayList<>();
        int scanned = 0;
        for (String path : tracked) {
            Path file = root.resolve(path);
            if (!Files.isRegularFile(file)) {
                continue; // deleted in the work tree, or a submodule
            }
            byte[] bytes = Files.readAllBytes(file);
            if (isBinary(bytes)) {
                continue;
            }
            scanned++;
            findings.addAll(SecretPatterns.scan(path, new String(bytes, StandardCharsets.UTF_8)));
        }
        // A scan of nothing would pass vacuously: the listing must be the whole repository's.
        assertThat(tracked).contains("pom.xml", "README.md", ".ci/run");
        assertThat(scanned).isGreaterThan(100);
        assertThat(findings)
                .as("credentials committed outside test fixtures (keep them in files that are not committed, or use a"
                        + " placeholder such as ${file:/path:key}, $VAR or <password>)")
                .isEmpty();
    }

    @Test
    void catchesPlantedCredentials() {
        String pem = "-----BEGIN " + "RSA PRIVATE" + " KEY-----";
        assertFinds("docker/certs/broker.key", pem, "private key");
        assertFinds("notes.txt", "-----BEGIN " + "PRIVATE KEY-----", "private key");
        assertFinds("notes.txt", "-----BEGIN " + "OPENSSH PRIVATE KEY-----", "private key");
        assertFinds("notes.txt", "-----BEGIN " + "ENCRYPTED PRIVATE KEY-----", "private key");
        assertFinds("deploy.sh", "aws_access_key_id = " + "AKIA" + draw(UPPER_DIGITS, 16), "AWS access key id");
        assertFinds("Ci.java", "var t = \"" + "ghp_" + draw(ALNUM, 36) + "\";", "GitHub token");
        assertFinds("hooks.yaml", "url: x " + "xoxb-" + draw(ALNUM, 24), "Slack token");

        String word = draw(ALNUM, 12);
        assertFinds("flink-conf/job.properties", "ssl.keystore.password=" + word, "literal password");
        assertFinds("docker/compose.yaml", "      KAFKA_PASSWORD: " + word, "literal password");
        assertFinds("jobs/src/main/java/A.java", "String password = \"" + word + "\";", "literal password");
        assertFinds(
                "flink-conf/client.properties",
                "sasl.jaas.config=ScramLoginModule required username=\"job\" password=\"" + word + "\";",
                "literal password");
        assertFinds("docs/operations.md", "    gradstream.kafka.sasl.token: " + word, "literal token");
        assertFinds("jobs/src/main/java/B.java", "map.put(k, \"\"); hmacSecret = \"" + word + "\";", "literal secret");
        String random64 = draw(ALNUM + "+/", 40);
        assertFinds("tools/src/main/java/C.java", "signingKey(\"" + random64 + "\")", null);
        assertFinds(
                "tools/src/main/java/C.java", "byte[] signingKey = \"" + random64 + "\".getBytes();", "high-entropy");
    }

    @Test
    void passesReferencesPlaceholdersAndCode() {
        String[] clean = {
            "ssl.keystore.password=${file:/etc/gradstream/secrets.properties:keystore-password}",
            "sasl.password=",
            "ssl.truststore.password=<truststore-password>",
            "password: ****",
            "token: $GRADSTREAM_TOKEN",
            "export KAFKA_PASSWORD=$(cat /run/secrets/kafka)",
            "password.file: /run/secrets/worker-password",
            "static final String PASSWORD_KEY = \"ssl.keystore.password\";",
            "static final String TOKEN_ENV = \"GRADSTREAM_TOKEN\";",
            "LOG.info(\"token=\" + token + \" accepted\");",
            "String password = new String(Files.readAllBytes(file), UTF_8);",
            "checksum: " + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "The password is read from a file that only the job's user can read.",
            "-----BEGIN " + "CERTIFICATE-----",
            "-----BEGIN " + "PUBLIC KEY-----",
            "keyString: model/tensor/shard",
            "secretName: gradstream-dp-seed",
            "logger.tokens.level = ERROR",
            "static final String KEY_LABEL = \"gradstream/dp-noise/chacha20-key/v1\";",
        };
        for (String line : clean) {
            for (String path :
                    new String[] {"docs/security.md", "flink-conf/x.properties", "jobs/src/main/java/A.java"}) {
                assertThat(SecretPatterns.scan(path, "first line\n" + line + "\nlast line"))
                        .as("%s in %s", line, path)
                        .isEmpty();
            }
        }
    }

    @Test
    void testFixturesMayHoldCredentialsAndTestCodeThrowawayPasswords() {
        String pem = "-----BEGIN " + "PRIVATE KEY-----";
        String aws = "AKIA" + draw(UPPER_DIGITS, 16);
        String password = "sasl.password=\"" + draw(ALNUM, 10) + "\"";
        assertThat(SecretPatterns.scan("jobs/src/test/resources/tls/broker.key", pem + "\n" + aws))
                .isEmpty();
        assertThat(SecretPatterns.scan("docs/fixtures/sample.properties", pem)).isEmpty();
        // Test code: a password for an in-process broker is fine, a real-looking key is not.
        assertThat(SecretPatterns.scan("jobs/src/test/java/io/gradstream/job/SecureITCase.java", password))
                .isEmpty();
        assertThat(SecretPatterns.scan("jobs/src/test/java/io/gradstream/job/SecureITCase.java", aws))
                .extracting(SecretPatterns.Finding::line)
                .containsExactly(1);
        // The finding names the place, never the value.
        assertThat(SecretPatterns.scan("a/b.properties", "x=1\n" + password))
                .singleElement()
                .hasToString("a/b.properties:2 (literal password)");
    }

    private static void assertFinds(String path, String line, String kindPrefix) {
        List<SecretPatterns.Finding> found = SecretPatterns.scan(path, "# header\n" + line + "\n");
        if (kindPrefix == null) {
            // Not an assignment to a key/secret/token name: the entropy rule alone does not apply.
            assertThat(found).as(line).isEmpty();
            return;
        }
        assertThat(found).as(line).isNotEmpty();
        assertThat(found.get(0).line()).isEqualTo(2);
        assertThat(found.get(0).kind()).as(line).startsWith(kindPrefix);
        assertThat(found.get(0).toString()).doesNotContain(line.substring(line.length() / 2));
    }

    private String draw(String alphabet, int n) {
        StringBuilder s = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            s.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return s.toString();
    }

    private static boolean isBinary(byte[] bytes) {
        int n = Math.min(bytes.length, 8000);
        for (int i = 0; i < n; i++) {
            if (bytes[i] == 0) {
                return true;
            }
        }
        return false;
    }

    /** `git ls-files` of the checkout; skipped outside a git work tree (a source archive) unless CI requires it. */
    private static List<String> trackedFiles(Path root) throws IOException, InterruptedException {
        Process git;
        try {
            git = new ProcessBuilder("git", "-C", root.toString(), "ls-files", "-z")
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException noGit) {
            assumeTrue(requireTools(), "git is not installed: " + noGit.getMessage());
            throw noGit;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = git.getInputStream()) {
            in.transferTo(out);
        }
        assertThat(git.waitFor(60, TimeUnit.SECONDS))
                .as("git ls-files finished")
                .isTrue();
        boolean ok = git.exitValue() == 0;
        assumeTrue(ok || requireTools(), root + " is not a git work tree");
        assertThat(ok).as("git ls-files in " + root).isTrue();
        List<String> files = new ArrayList<>();
        for (String name : out.toString(StandardCharsets.UTF_8).split("\0")) {
            if (!name.isEmpty()) {
                files.add(name);
            }
        }
        return files;
    }

    private static boolean requireTools() {
        return "1".equals(System.getenv("GRADSTREAM_REQUIRE_TOOLS"));
    }
}
