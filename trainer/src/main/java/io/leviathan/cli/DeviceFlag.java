package io.leviathan.cli;

import io.leviathan.backend.Backends;

/** The {@code --device} flag every command that runs a model takes: one of {@link Backends#DEVICES}. */
final class DeviceFlag {
    private DeviceFlag() {}

    /** How the flag reads in a command's list of flags. */
    static final String USAGE = "--device " + String.join("|", Backends.DEVICES);

    /** {@code value} when it names a device; otherwise a usage error listing the valid names. */
    static String parse(String value) {
        if (!Backends.DEVICES.contains(value)) {
            throw new UsageException("--device must be one of " + String.join(", ", Backends.DEVICES)
                    + ", got '" + value + "'");
        }
        return value;
    }
}
