/** The Leviathan trainer and its command-line interface ({@code ./leviathan}). */
module io.leviathan.trainer {
    requires io.leviathan.core;
    requires jdk.incubator.vector;

    exports io.leviathan.cli;
}
