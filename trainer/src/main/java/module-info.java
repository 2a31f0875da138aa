/** The Leviathan trainer and its command-line interface ({@code ./leviathan}). */
@SuppressWarnings("requires-automatic") // jtokkit and xchart have no module descriptor
module io.leviathan.trainer {
    requires transitive io.leviathan.core;
    requires jdk.incubator.vector;
    requires java.desktop;
    requires jtokkit;
    requires com.github.luben.zstd_jni;
    requires org.knowm.xchart;
    requires com.fasterxml.jackson.databind;

    exports io.leviathan.cli;
    exports io.leviathan.data;
    exports io.leviathan.train;
}
