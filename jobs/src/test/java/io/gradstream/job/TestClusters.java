package io.gradstream.job;

import java.nio.file.Path;
import org.apache.flink.configuration.Configuration;

/** MiniCluster settings for the integration tests: Flink's scratch folders under target/, not the system temp. */
final class TestClusters {
    private TestClusters() {
    }

    static Configuration keepFilesInTarget() {
        Path dir = Path.of("target", "minicluster").toAbsolutePath();
        Configuration c = new Configuration();
        c.setString("web.upload.dir", dir.resolve("web-upload").toString());
        c.setString("io.tmp.dirs", dir.resolve("io-tmp").toString());
        return c;
    }
}
