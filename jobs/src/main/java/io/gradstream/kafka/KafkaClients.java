package io.gradstream.kafka;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.provider.FileConfigProvider;

/**
 * Kafka client properties that pass through gradstream's configuration ({@code gradstream.kafka.<property>}) to
 * every Kafka client of the job and of the command line: security.protocol, sasl.*, ssl.*, config.providers*, tuning.
 * Secrets never travel as values: a sensitive property must be a reference that Kafka's config providers resolve
 * where the client starts ({@code ${file:/path/creds.properties:sasl.jaas.config}}), so the job graph, the Flink UI
 * and the logs only ever hold a path.
 */
public final class KafkaClients {
    /** Prefix of the passthrough keys in gradstream's (Flink) configuration. */
    public static final String PREFIX = "gradstream.kafka.";

    /** The JVM system property with which Kafka 3.8+ restricts the classes config.providers may name. */
    public static final String AUTOMATIC_PROVIDERS = "org.apache.kafka.automatic.config.providers";

    /** Properties that gradstream sets itself; the value names the option to use instead, or why. */
    private static final Map<String, String> RESERVED = Map.of(
            "bootstrap.servers", "use " + PREFIX + "bootstrap-servers",
            "group.id", "use " + PREFIX + "group-id",
            "transactional.id", "use " + PREFIX + "transactional-id-prefix",
            "transaction.timeout.ms", "use " + PREFIX + "transaction-timeout",
            "isolation.level", "the job reads read_committed, so aborted upstream writes are never applied",
            "enable.auto.commit", "the job's offsets are committed with its checkpoints",
            "key.serializer", "gradstream writes raw bytes",
            "value.serializer", "gradstream writes raw bytes",
            "key.deserializer", "gradstream reads raw bytes",
            "value.deserializer", "gradstream reads raw bytes");

    /** A whole value that is one config provider reference: ${provider:key} or ${provider:path:key}. */
    private static final Pattern REFERENCE = Pattern.compile("\\$\\{([^}:]+):[^}]*}");
    /** Property names that hold secrets when Kafka does not know them (config provider parameters, plugins). */
    private static final Pattern SECRET_NAME = Pattern.compile("(?i).*(password|passphrase|secret|token|credential).*");
    /** name=value pairs in a JAAS line; quoted values may hold anything but quotes. */
    private static final Pattern JAAS_OPTION = Pattern.compile("([A-Za-z0-9_.]+)\\s*=\\s*(\"[^\"]*\"|[^\\s;]+)");

    private static final String HOW = "keep it in a file and reference it with Kafka's config providers, e.g. "
            + PREFIX + "config.providers: file, " + PREFIX + "config.providers.file.class: "
            + FileConfigProvider.class.getName() + " and the value ${file:/path/creds.properties:<property>} "
            + "(org.apache.kafka.common.config.provider.DirectoryConfigProvider reads one file per secret: "
            + "${dir:/path:<file>}); or give the client .properties file with --kafka-config FILE";

    private KafkaClients() {}

    /**
     * The Kafka client properties in a configuration: every {@code gradstream.kafka.<property>} key but gradstream's
     * own {@code ownKeys}, without the prefix, validated by {@link #validate}.
     *
     * @throws IllegalArgumentException naming the key, never a secret value
     */
    public static Map<String, String> passthrough(Map<String, String> configuration, Collection<String> ownKeys) {
        Map<String, String> out = new TreeMap<>();
        configuration.forEach((key, value) -> {
            if (!key.startsWith(PREFIX) || ownKeys.contains(key)) {
                return;
            }
            String property = key.substring(PREFIX.length());
            if (property.isEmpty() || property.contains("-") && !property.startsWith("config.providers.")) {
                throw new IllegalArgumentException("Unknown option " + key + ": neither one of gradstream's own "
                        + String.join(", ", ownKeys) + " nor a Kafka client property (" + PREFIX
                        + "<property>, e.g. " + PREFIX + "security.protocol)");
            }
            out.put(property, value);
        });
        validate(out);
        return out;
    }

    /**
     * Refuses properties gradstream sets itself, secrets given as values, references to config providers that are
     * not configured, and providers that the JVM's {@value #AUTOMATIC_PROVIDERS} does not allow (Kafka would then
     * send the reference itself as the password).
     */
    public static void validate(Map<String, String> properties) {
        for (var e : properties.entrySet()) {
            String reason = RESERVED.get(e.getKey());
            if (reason != null) {
                throw new IllegalArgumentException(PREFIX + e.getKey() + " cannot be set: " + reason);
            }
            if (holdsLiteralSecret(e.getKey(), e.getValue())) {
                throw new IllegalArgumentException(PREFIX + e.getKey() + " holds a secret as its value; the job's "
                        + "configuration must not carry secrets (it shows in the Flink UI and the job graph): "
                        + HOW);
            }
        }
        Set<String> providers = providers(properties);
        for (String value : properties.values()) {
            Matcher m = REFERENCE.matcher(value);
            while (m.find()) {
                if (!providers.contains(m.group(1))) {
                    throw new IllegalArgumentException("a Kafka client property refers to config provider '"
                            + m.group(1) + "', which " + PREFIX + "config.providers does not name (with its "
                            + PREFIX + "config.providers." + m.group(1) + ".class)");
                }
            }
        }
        String allowed = System.getProperty(AUTOMATIC_PROVIDERS);
        for (String provider : providers) {
            String cls = properties.get("config.providers." + provider + ".class");
            if (cls == null) {
                throw new IllegalArgumentException(PREFIX + "config.providers names '" + provider + "' but " + PREFIX
                        + "config.providers." + provider + ".class is not set");
            }
            if (allowed != null
                    && List.of(allowed.split(",")).stream().map(String::strip).noneMatch(cls::equals)) {
                throw new IllegalArgumentException("this JVM's system property " + AUTOMATIC_PROVIDERS + "="
                        + allowed + " does not allow " + cls + ", so Kafka would leave its references unresolved: "
                        + "add it to that list (-D" + AUTOMATIC_PROVIDERS + "=...," + cls + ")");
            }
        }
    }

    /** The names listed in config.providers. */
    private static Set<String> providers(Map<String, String> properties) {
        Set<String> names = new LinkedHashSet<>();
        for (String p : properties.getOrDefault("config.providers", "").split(",")) {
            if (!p.isBlank()) {
                names.add(p.strip());
            }
        }
        return names;
    }

    /**
     * Whether {@code property} is a secret: a password type in Kafka's producer, consumer or admin configuration
     * (ssl.*password, ssl.keystore.key, ...), or a name with password, secret, token or credential in it that Kafka
     * does not define otherwise. sasl.jaas.config is a secret where it assigns such an option (not, for example, a
     * Kerberos keytab path).
     */
    public static boolean isSensitive(String property) {
        ConfigDef.Type type = kafkaType(property);
        return type != null
                ? type == ConfigDef.Type.PASSWORD
                : SECRET_NAME.matcher(property).matches();
    }

    private static ConfigDef.Type kafkaType(String property) {
        for (ConfigDef def :
                List.of(ProducerConfig.configDef(), ConsumerConfig.configDef(), AdminClientConfig.configDef())) {
            ConfigDef.ConfigKey key = def.configKeys().get(property);
            if (key != null) {
                return key.type;
            }
        }
        return null;
    }

    /** Whether {@code value} of {@code property} is (or, for sasl.jaas.config, holds) a secret that is no reference. */
    public static boolean holdsLiteralSecret(String property, String value) {
        if (property.equals("sasl.jaas.config")) {
            Matcher m = JAAS_OPTION.matcher(value);
            while (m.find()) {
                String v = m.group(2).startsWith("\"")
                        ? m.group(2).substring(1, m.group(2).length() - 1)
                        : m.group(2);
                // tokenauth=true (delegation tokens) is a flag, not a secret.
                boolean flag = v.equalsIgnoreCase("true") || v.equalsIgnoreCase("false");
                if (SECRET_NAME.matcher(m.group(1)).matches() && !v.isEmpty() && !flag && !isReference(v)) {
                    return true;
                }
            }
            return false;
        }
        return isSensitive(property) && !value.isEmpty() && !isReference(value);
    }

    private static boolean isReference(String value) {
        return REFERENCE.matcher(value.strip()).matches();
    }

    /**
     * A client configuration: {@code bootstrap.servers} and the passthrough properties, as a fresh map the caller
     * adds its own client's settings to.
     */
    public static Map<String, Object> config(String bootstrapServers, Map<String, String> properties) {
        Map<String, Object> c = new LinkedHashMap<>(properties);
        c.put("bootstrap.servers", bootstrapServers);
        return c;
    }

    /** The same as {@link #config} as {@link Properties}, for the clients' Properties constructors. */
    public static Properties properties(String bootstrapServers, Map<String, String> properties) {
        Properties p = new Properties();
        p.putAll(config(bootstrapServers, properties));
        return p;
    }

    /**
     * A Kafka client .properties file (as Kafka tools' --command-config takes) as gradstream configuration keys:
     * {@code gradstream.kafka.<property>}, each sensitive value replaced by a reference to the same key in the file
     * through a {@code file} config provider, so that only the file's path reaches the job. Its
     * {@code bootstrap.servers}, if any, becomes {@code gradstream.kafka.bootstrap-servers}.
     */
    public static Map<String, String> fileReferences(Path file) throws IOException {
        Path abs = file.toAbsolutePath().normalize();
        if (abs.toString().contains(":") || abs.toString().contains("}")) {
            throw new IllegalArgumentException("--kafka-config " + file + ": the path must not contain ':' or '}' "
                    + "(Kafka's ${file:path:key} references cannot hold them)");
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(abs)) {
            p.load(r);
        }
        Map<String, String> props = new TreeMap<>();
        for (String key : p.stringPropertyNames()) {
            String value = p.getProperty(key);
            boolean secret = key.equals("sasl.jaas.config")
                    ? holdsLiteralSecret(key, value)
                    : isSensitive(key) && !value.isEmpty() && !isReference(value);
            props.put(key, secret ? "${file:" + abs + ":" + key + "}" : value);
        }
        String bootstrap = props.remove("bootstrap.servers");
        List<String> providers = new ArrayList<>(providers(props));
        String fileClass = props.get("config.providers.file.class");
        if (fileClass != null && !fileClass.equals(FileConfigProvider.class.getName())) {
            throw new IllegalArgumentException("--kafka-config " + file + ": config.providers.file.class is "
                    + fileClass + "; gradstream needs the name 'file' for " + FileConfigProvider.class.getName());
        }
        if (!providers.contains("file")) {
            providers.add("file");
        }
        props.put("config.providers", String.join(",", providers));
        props.put("config.providers.file.class", FileConfigProvider.class.getName());
        validate(props);
        Map<String, String> keys = new TreeMap<>();
        props.forEach((k, v) -> keys.put(PREFIX + k, v));
        if (bootstrap != null) {
            keys.put(PREFIX + "bootstrap-servers", bootstrap);
        }
        return keys;
    }

    /** The environment variable for a configuration key: upper case, '.' and '-' as '_'. */
    public static String environmentName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }
}
