package io.leviathan.backend;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import jdk.incubator.vector.FloatVector;

/** Checks which backends can run on this machine. */
final class BackendProbe {
    private BackendProbe() {}

    static BackendInfo cpu() {
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        int threads = Runtime.getRuntime().availableProcessors();
        return new BackendInfo("cpu", true, "pure Java, Vector API " + bits + "-bit (" + lanes
                + " float lanes), " + threads + " threads");
    }

    static BackendInfo cuda() {
        String driver = findLibrary("libcuda.so.1", "libcuda.so");
        if (driver == null) {
            return new BackendInfo("cuda", false, "no CUDA driver found (libcuda.so.1 is not on the library path)");
        }
        return new BackendInfo("cuda", false, "CUDA driver found (" + driver
                + "), but this build of Leviathan has no CUDA backend yet");
    }

    private static String findLibrary(String... names) {
        for (String name : names) {
            try (Arena arena = Arena.ofConfined()) {
                SymbolLookup.libraryLookup(name, arena);
                return name;
            } catch (IllegalArgumentException | IllegalCallerException e) {
                // not found, or native access disabled: try the next name
            }
        }
        return null;
    }
}
