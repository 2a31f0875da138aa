package io.leviathan;

/** Library-wide facts: the version, read from the jar manifest when packaged. */
public final class Leviathan {
    private Leviathan() {}

    /** The library version, or {@code "dev"} when running from unpackaged classes. */
    public static String version() {
        String v = Leviathan.class.getPackage().getImplementationVersion();
        return v != null ? v : "0.1.0-SNAPSHOT";
    }
}
