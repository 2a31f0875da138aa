package io.leviathan;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Library-wide facts. */
public final class Leviathan {
    private static final String VERSION = readVersion();

    private Leviathan() {}

    /** The library version, as built (e.g. {@code 0.1.0-SNAPSHOT}), or {@code "unknown"}. */
    public static String version() {
        return VERSION;
    }

    private static String readVersion() {
        try (InputStream in = Leviathan.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
