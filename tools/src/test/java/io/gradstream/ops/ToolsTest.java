package io.gradstream.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** A missing external program skips a test on a developer's machine and fails it where CI requires the tools. */
class ToolsTest {

    @Test
    void missingToolSkipsUnlessRequired() {
        assertThatThrownBy(() -> Tools.require("/nonexistent/promtool", "prometheus", false))
                .isInstanceOf(TestAbortedException.class)
                .hasMessageContaining("/nonexistent/promtool is not installed: apt-get install prometheus");
        assertThatThrownBy(() -> Tools.require("/nonexistent/promtool", "prometheus", true))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("GRADSTREAM_REQUIRE_TOOLS is set");
    }

    @Test
    void presentToolIsReturned() {
        assertThat(Tools.require("/bin/sh", "dash", true)).hasToString("/bin/sh");
    }
}
