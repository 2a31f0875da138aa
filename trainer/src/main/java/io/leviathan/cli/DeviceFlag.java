package io.leviathan.cli;

import io.leviathan.backend.Backends;
import java.util.Iterator;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The value of the {@code --device} option every command that runs a model takes: one of
 * {@link Backends#DEVICES}; anything else is refused while parsing, naming the valid ones.
 */
final class DeviceFlag implements ITypeConverter<String> {
    /** How the value reads in help. */
    static final String LABEL = "cpu|cuda|auto";

    @Override
    public String convert(String value) {
        if (!Backends.DEVICES.contains(value)) {
            throw new TypeConversionException("must be one of " + String.join(", ", Backends.DEVICES)
                    + ", got '" + value + "'");
        }
        return value;
    }

    /** The device names, for shell completion. */
    static final class Names implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Backends.DEVICES.iterator();
        }
    }
}
