package io.gradstream.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.Layout;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.ConfigurationSource;
import org.apache.logging.log4j.core.config.properties.PropertiesConfigurationFactory;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.apache.logging.log4j.layout.template.json.JsonTemplateLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log4j files of local mode and of a Flink cluster log readable text by default and JSON lines when
 * {@code gradstream.log.format=json} (or GRADSTREAM_LOG_FORMAT=json) is set, each file in its own logger context.
 */
class LoggingConfigTest {
    private static final String FORMAT = "gradstream.log.format";

    @TempDir
    Path dir;

    @AfterEach
    void clearProperties() {
        System.clearProperty(FORMAT);
        System.clearProperty("log.file");
    }

    @Test
    void localModeLogsTextByDefault() throws Exception {
        assumeTrue(System.getenv("GRADSTREAM_LOG_FORMAT") == null, "GRADSTREAM_LOG_FORMAT is set");
        LoggerContext ctx = start("tools/src/main/resources/log4j2.properties");
        try {
            assertThat(rootLayouts(ctx)).singleElement().isInstanceOf(PatternLayout.class);
        } finally {
            ctx.stop();
        }
    }

    @Test
    void localModeLogsJsonOnRequest() throws Exception {
        System.setProperty(FORMAT, "json");
        LoggerContext ctx = start("tools/src/main/resources/log4j2.properties");
        try {
            List<Layout<?>> layouts = rootLayouts(ctx);
            assertThat(layouts).singleElement().isInstanceOf(JsonTemplateLayout.class);
        } finally {
            ctx.stop();
        }
    }

    @Test
    void clusterConsoleSwitchesAndTheWebUiFileStaysText() throws Exception {
        System.setProperty("log.file", dir.resolve("console.log").toString());
        if (System.getenv("GRADSTREAM_LOG_FORMAT") == null) {
            LoggerContext text = start("flink-conf/log4j-console.properties");
            try {
                assertThat(rootAppenders(text).keySet()).containsExactlyInAnyOrder("text", "file");
            } finally {
                text.stop();
            }
        }
        System.setProperty(FORMAT, "json");
        LoggerContext json = start("flink-conf/log4j-console.properties");
        try {
            Map<String, Appender> appenders = rootAppenders(json);
            assertThat(appenders.keySet()).containsExactlyInAnyOrder("json", "file");
            assertThat(appenders.get("json").getLayout()).isInstanceOf(JsonTemplateLayout.class);
            assertThat(appenders.get("file").getLayout()).isInstanceOf(PatternLayout.class);
        } finally {
            json.stop();
        }
    }

    @Test
    void clusterDaemonFileHoldsJsonLinesOnRequest() throws Exception {
        Path log = dir.resolve("flink-daemon.log");
        System.setProperty("log.file", log.toString());
        System.setProperty(FORMAT, "json");
        LoggerContext ctx = start("flink-conf/log4j.properties");
        try {
            ctx.getLogger("io.gradstream.ops.LoggingConfigTest").info("checkpoint {} done", 7);
        } finally {
            ctx.stop();
        }
        List<String> lines = Files.readAllLines(log);
        assertThat(lines).hasSize(1);
        JsonNode event = new ObjectMapper().readTree(lines.get(0));
        assertThat(event.path("message").asText()).isEqualTo("checkpoint 7 done");
        assertThat(event.path("log.level").asText()).isEqualTo("INFO");
        assertThat(event.path("log.logger").asText()).isEqualTo("io.gradstream.ops.LoggingConfigTest");
    }

    private static LoggerContext start(String relative) throws Exception {
        Path file = OpsFiles.path(relative);
        LoggerContext ctx = new LoggerContext("ops-" + file.getFileName());
        try (InputStream in = Files.newInputStream(file)) {
            Configuration config = new PropertiesConfigurationFactory()
                    .getConfiguration(ctx, new ConfigurationSource(in, file.toFile()));
            ctx.start(config);
        }
        return ctx;
    }

    private static Map<String, Appender> rootAppenders(LoggerContext ctx) {
        return ctx.getConfiguration().getRootLogger().getAppenders();
    }

    private static List<Layout<?>> rootLayouts(LoggerContext ctx) {
        return rootAppenders(ctx).values().stream()
                .<Layout<?>>map(Appender::getLayout)
                .toList();
    }
}
