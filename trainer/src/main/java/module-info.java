/** The Leviathan trainer and its command-line interface ({@code ./leviathan}). */
@SuppressWarnings("requires-automatic") // jtokkit, xchart and commons-math3 have no module descriptor
module io.leviathan.trainer {
    requires transitive io.leviathan.core;
    requires jdk.incubator.vector;
    requires java.desktop;
    requires jtokkit;
    requires com.github.luben.zstd_jni;
    requires org.knowm.xchart;
    requires com.fasterxml.jackson.databind;
    requires commons.math3;
    requires info.picocli;

    exports io.leviathan.cli;
    opens io.leviathan.cli to info.picocli; // picocli reads the command classes' annotations and sets their fields
    exports io.leviathan.data;
    exports io.leviathan.study;
    exports io.leviathan.train;
}
