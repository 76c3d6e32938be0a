package io.gradstream.cli;

import java.io.IOException;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;

/**
 * A Flink cluster in its own JVM for {@link ClusterJarITCase}: the JVM's class path is Flink's runtime only (what a
 * distribution's lib/ holds), so a submitted job jar must bring everything else, as on a real cluster. References no
 * gradstream class. Arguments: REST port, temporary folder. Prints {@code READY <rest address>} once it serves, and
 * stops when its standard input closes.
 */
public final class SeparateFlinkCluster {
    private SeparateFlinkCluster() {}

    public static void main(String[] args) throws Exception {
        Configuration c = new Configuration();
        c.setString("rest.bind-address", "127.0.0.1");
        c.setString("rest.address", "127.0.0.1");
        c.setString("rest.port", args[0]);
        c.setString("jobmanager.bind-host", "127.0.0.1");
        c.setString("jobmanager.rpc.address", "127.0.0.1");
        c.setString("taskmanager.bind-host", "127.0.0.1");
        c.setString("taskmanager.host", "127.0.0.1");
        c.setString("io.tmp.dirs", args[1]);
        c.setString("web.upload.dir", args[1]);
        try (MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setConfiguration(c)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(2)
                .build())) {
            cluster.start();
            System.out.println("READY " + cluster.getRestAddress().get());
            System.out.flush();
            waitForEndOfInput();
        }
    }

    private static void waitForEndOfInput() throws IOException {
        while (System.in.read() >= 0) {
            // the test closes our standard input to stop us
        }
    }
}
