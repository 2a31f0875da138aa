package io.leviathan.bindings.cuda;

import java.net.URL;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A machine made of a folder tree, for running {@link CudaLibraries} and {@link CudaProbe} in tests. */
final class FakeMachine {
    final Path root;
    final Map<String, String> env = new HashMap<>();
    final Map<String, String> properties = new HashMap<>();
    List<String> pythonSites = List.of();
    final Set<String> systemLoaderKnows = new HashSet<>();
    URL resource;

    FakeMachine(Path root) {
        this.root = root;
    }

    /** The absolute path {@code absolute} inside this machine's tree. */
    Path path(String absolute) {
        return environment().onMachine(absolute);
    }

    CudaLibraries.Environment environment() {
        return new CudaLibraries.Environment(Map.copyOf(env), Map.copyOf(properties), () -> pythonSites, root,
                systemLoaderKnows::contains, name -> name.equals(CudaLibrary.LEVIATHAN_RESOURCE) ? resource : null,
                root.resolve("cache"));
    }

    CudaLibraries libraries() {
        return new CudaLibraries(environment());
    }
}
