package io.gradstream.kafka;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away certificate authority and a broker certificate for the secured embedded broker, made with the JDK's
 * {@code keytool} (PKCS12 stores, random passwords in owner-only files, never on a command line). The CA's private
 * key is deleted once it signed the broker's certificate, so nothing can sign another.
 */
final class LocalCertificates {
    /** The broker certificate's subject; with Kafka's default principal mapping, also its TLS principal name. */
    static final String BROKER_DN = "CN=gradstream-broker";

    private static final int VALIDITY_DAYS = 30;

    /** What {@link #generate} leaves in its folder: the broker's key store, the clients' trust store, the CA (PEM). */
    record Stores(Path keystore, Path keystorePassword, Path truststore, Path truststorePassword, Path caCertificate) {}

    private LocalCertificates() {}

    /** Generates the CA, the broker's key and certificate (SAN ip:127.0.0.1, dns:localhost) and a trust store. */
    static Stores generate(Path tls) throws IOException {
        Folders.deleteTree(tls); // stores and passwords of an earlier start
        EmbeddedKafka.ownerOnlyDirectory(tls);
        Path caStore = tls.resolve("ca.p12");
        Path caPassword = password(tls.resolve("ca.password"));
        Path keystore = tls.resolve("broker.p12");
        Path keystorePassword = password(tls.resolve("broker.password"));
        Path truststore = tls.resolve("truststore.p12");
        Path truststorePassword = password(tls.resolve("truststore.password"));
        Path csr = tls.resolve("broker.csr");
        Path signed = tls.resolve("broker.crt");
        Path ca = tls.resolve("ca.crt");
        // EC P-256: key generation and handshakes are fast; every JDK and librdkafka client accepts it.
        keytool(
                "-genkeypair",
                "-alias",
                "ca",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=gradstream local CA",
                "-ext",
                "bc:c=ca:true,pathlen:0",
                "-ext",
                "ku:c=keyCertSign,cRLSign",
                "-validity",
                String.valueOf(VALIDITY_DAYS),
                "-storetype",
                "PKCS12",
                "-keystore",
                caStore.toString(),
                "-storepass:file",
                caPassword.toString());
        keytool(
                "-genkeypair",
                "-alias",
                "broker",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                BROKER_DN,
                "-validity",
                String.valueOf(VALIDITY_DAYS),
                "-storetype",
                "PKCS12",
                "-keystore",
                keystore.toString(),
                "-storepass:file",
                keystorePassword.toString());
        keytool(
                "-certreq",
                "-alias",
                "broker",
                "-keystore",
                keystore.toString(),
                "-storepass:file",
                keystorePassword.toString(),
                "-file",
                csr.toString());
        // serverAuth for the listeners; clientAuth because the broker also presents it to its own controller listener.
        keytool(
                "-gencert",
                "-alias",
                "ca",
                "-keystore",
                caStore.toString(),
                "-storepass:file",
                caPassword.toString(),
                "-infile",
                csr.toString(),
                "-outfile",
                signed.toString(),
                "-rfc",
                "-validity",
                String.valueOf(VALIDITY_DAYS),
                "-ext",
                "san=ip:127.0.0.1,dns:localhost",
                "-ext",
                "ku:c=digitalSignature",
                "-ext",
                "eku=serverAuth,clientAuth");
        keytool(
                "-exportcert",
                "-alias",
                "ca",
                "-keystore",
                caStore.toString(),
                "-storepass:file",
                caPassword.toString(),
                "-rfc",
                "-file",
                ca.toString());
        keytool(
                "-importcert",
                "-noprompt",
                "-alias",
                "ca",
                "-file",
                ca.toString(),
                "-keystore",
                keystore.toString(),
                "-storepass:file",
                keystorePassword.toString());
        keytool(
                "-importcert",
                "-alias",
                "broker",
                "-file",
                signed.toString(),
                "-keystore",
                keystore.toString(),
                "-storepass:file",
                keystorePassword.toString());
        keytool(
                "-importcert",
                "-noprompt",
                "-alias",
                "ca",
                "-file",
                ca.toString(),
                "-storetype",
                "PKCS12",
                "-keystore",
                truststore.toString(),
                "-storepass:file",
                truststorePassword.toString());
        for (Path done : List.of(caStore, caPassword, csr, signed)) {
            Files.delete(done);
        }
        return new Stores(keystore, keystorePassword, truststore, truststorePassword, ca);
    }

    /** 192 random bits as hex: no character that a JAAS line, a SCRAM format argument or a properties file quotes. */
    static String randomSecret() {
        byte[] bytes = new byte[24];
        new SecureRandom().nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    /** A fresh random password in an owner-only file. */
    private static Path password(Path file) throws IOException {
        EmbeddedKafka.ownerOnlyFile(file);
        Files.writeString(file, randomSecret() + "\n", StandardCharsets.US_ASCII);
        return file;
    }

    /** The first line of a password file. */
    static String read(Path passwordFile) throws IOException {
        return Files.readAllLines(passwordFile, StandardCharsets.US_ASCII)
                .get(0)
                .strip();
    }

    private static void keytool(String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] output = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("keytool " + args[0] + " did not finish within 60 s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running keytool " + args[0], e);
        }
        if (p.exitValue() != 0) {
            // keytool's messages name files and aliases, never the passwords it read from files.
            throw new IOException("keytool " + args[0] + " failed (exit " + p.exitValue() + "): "
                    + new String(output, StandardCharsets.UTF_8).strip());
        }
    }
}
