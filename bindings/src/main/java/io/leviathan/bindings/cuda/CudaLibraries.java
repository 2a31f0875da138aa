package io.leviathan.bindings.cuda;

import io.leviathan.bindings.LinkedLibrary;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Finds the CUDA libraries ({@link CudaLibrary}) on this machine and loads them. First hit wins, in this order:
 * <ol>
 *   <li>the explicit setting ({@link CudaLibrary#property()}, then {@link CudaLibrary#environmentVariable()});
 *       a setting that names no file is an error, not a reason to look elsewhere;</li>
 *   <li>a copy already loaded in this process ({@code /proc/self/maps});</li>
 *   <li>NVIDIA's pip wheels ({@code nvidia/cu13/lib}, {@code nvidia/cublas/lib}, {@code nvidia/cudnn/lib},
 *       {@code nvidia/nccl/lib}) in the site-packages of {@code $VIRTUAL_ENV}, {@code $CONDA_PREFIX} and the
 *       {@code python3} on the PATH;</li>
 *   <li>{@code $CUDA_HOME/lib64};</li>
 *   <li>the system loader, by versioned name ({@code libcublas.so.13});</li>
 *   <li>{@code /usr/local/cuda*}{@code /lib64} and {@code /usr/local/cuda*}{@code /targets/x86_64-linux/lib}.</li>
 * </ol>
 * The driver is looked for only in the system (explicit setting, already loaded, system loader, the
 * distributions' library folders). Our kernel library: the explicit setting, already loaded, else the class-path
 * resource {@link CudaLibrary#LEVIATHAN_RESOURCE}, extracted once into a per-user cache folder named by a hash
 * of its bytes. When nothing is found, {@link LibraryNotFoundException} lists every place tried.
 *
 * <p>All of it reads the machine through an {@link Environment}, so tests run the search over fake folder trees.
 */
public final class CudaLibraries {
    /** Folders of NVIDIA's pip wheels, relative to a site-packages folder. */
    public static final List<String> WHEEL_FOLDERS =
            List.of("nvidia/cu13/lib", "nvidia/cublas/lib", "nvidia/cudnn/lib", "nvidia/nccl/lib");

    /** Where the distributions put the driver, for when the loader cache does not know it. */
    static final List<String> DRIVER_FOLDERS =
            List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/wsl/lib");

    private static final CudaLibraries SYSTEM = new CudaLibraries(Environment.system());

    private final Environment environment;
    private final Map<CudaLibrary, LinkedLibrary> loaded = new ConcurrentHashMap<>();

    /** A search over {@code environment}. */
    public CudaLibraries(Environment environment) {
        this.environment = environment;
    }

    /** The search over this process and machine; what it loads stays loaded for the life of the process. */
    public static CudaLibraries system() {
        return SYSTEM;
    }

    /** The environment this search reads. */
    public Environment environment() {
        return environment;
    }

    /**
     * Where {@code library} is, without loading it (except that the system-loader step asks the loader).
     *
     * @throws LibraryNotFoundException with every place tried, when it is nowhere
     */
    public Located locate(CudaLibrary library) {
        return locate(library, null);
    }

    /**
     * Loads {@code library} (its dependencies first, by absolute path, preferring its own folder) and returns
     * it; later calls return the same instance.
     *
     * @throws LibraryNotFoundException when it or a dependency is nowhere
     * @throws IllegalArgumentException when a file was found but the loader refused it (the message says which)
     */
    public LinkedLibrary load(CudaLibrary library) {
        LinkedLibrary done = loaded.get(library);
        if (done != null) {
            return done;
        }
        synchronized (loaded) {
            done = loaded.get(library);
            if (done != null) {
                return done;
            }
            Located where = locate(library);
            for (CudaLibrary dependency : library.dependencies()) {
                if (!loaded.containsKey(dependency)) {
                    Located dep = locate(dependency, where.folder());
                    loaded.put(dependency, loadFile(dep));
                }
            }
            done = loadFile(where);
            loaded.put(library, done);
            return done;
        }
    }

    private static LinkedLibrary loadFile(Located where) {
        try {
            return LinkedLibrary.load(where.location());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot load " + where.library().fileName() + " from "
                    + where.location() + " (" + where.source() + "): " + e.getMessage(), e);
        }
    }

    private Located locate(CudaLibrary library, Path preferredFolder) {
        String name = library.fileName();
        List<String> tried = new ArrayList<>();

        String explicitProperty = environment.properties().get(library.property());
        String explicitEnv = environment.env().get(library.environmentVariable());
        String explicit = nonBlank(explicitProperty) ? explicitProperty : nonBlank(explicitEnv) ? explicitEnv : null;
        if (explicit != null) {
            String setting = nonBlank(explicitProperty) ? "-D" + library.property() : "$" + library.environmentVariable();
            // An absolute setting is a path on the machine; a relative one is relative to the working folder.
            Path file = explicit.startsWith("/") ? environment.onMachine(explicit) : Path.of(explicit).toAbsolutePath();
            if (Files.isRegularFile(file)) {
                return new Located(library, file.toString(), "set by " + setting);
            }
            throw new LibraryNotFoundException(library, List.of(setting + "=" + explicit + " (no such file)"));
        }
        tried.add("-D" + library.property() + " / $" + library.environmentVariable() + " (not set)");

        Path mapped = alreadyLoaded(library);
        if (mapped != null) {
            return new Located(library, mapped.toString(), "already loaded in this process");
        }
        tried.add("already loaded in this process (" + environment.onMachine("/proc/self/maps") + ")");

        if (preferredFolder != null) {
            Path file = preferredFolder.resolve(name);
            if (Files.isRegularFile(file)) {
                return new Located(library, file.toString(), "beside the library that needs it");
            }
            tried.add(file.toString());
        }

        return switch (library) {
            case DRIVER -> locateDriver(library, tried);
            case LEVIATHAN -> locateBundled(library, tried);
            default -> locateToolkit(library, tried);
        };
    }

    private Located locateDriver(CudaLibrary library, List<String> tried) {
        String name = library.fileName();
        if (environment.systemLoader().test(name)) {
            return new Located(library, name, "system loader");
        }
        tried.add("system loader: " + name);
        for (String folder : DRIVER_FOLDERS) {
            Path file = environment.onMachine(folder).resolve(name);
            if (Files.isRegularFile(file)) {
                return new Located(library, file.toString(), "driver folder");
            }
            tried.add(file.toString());
        }
        throw new LibraryNotFoundException(library, tried);
    }

    private Located locateToolkit(CudaLibrary library, List<String> tried) {
        String name = library.fileName();
        for (String variable : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String prefix = environment.env().get(variable);
            if (!nonBlank(prefix)) {
                tried.add("$" + variable + " (not set)");
                continue;
            }
            List<Path> sites = sitePackagesUnder(environment.onMachine(prefix));
            if (sites.isEmpty()) {
                tried.add("$" + variable + "=" + prefix + " (no lib/python3*/site-packages)");
            }
            Located hit = searchWheels(library, sites, "pip wheel under $" + variable, tried);
            if (hit != null) {
                return hit;
            }
        }
        List<String> pythonSites = environment.pythonSitePackages().get();
        if (pythonSites.isEmpty()) {
            tried.add("site-packages of python3 on the PATH (none: no python3, or it did not answer)");
        }
        Located hit = searchWheels(library, pythonSites.stream().map(environment::onMachine).toList(),
                "pip wheel of python3", tried);
        if (hit != null) {
            return hit;
        }

        String cudaHome = environment.env().get("CUDA_HOME");
        if (nonBlank(cudaHome)) {
            Path file = environment.onMachine(cudaHome).resolve("lib64").resolve(name);
            if (Files.isRegularFile(file)) {
                return new Located(library, file.toString(), "$CUDA_HOME");
            }
            tried.add(file.toString());
        } else {
            tried.add("$CUDA_HOME (not set)");
        }

        if (environment.systemLoader().test(name)) {
            return new Located(library, name, "system loader");
        }
        tried.add("system loader: " + name);

        for (Path toolkit : cudaToolkits()) {
            for (String sub : List.of("lib64", "targets/x86_64-linux/lib")) {
                Path file = toolkit.resolve(sub).resolve(name);
                if (Files.isRegularFile(file)) {
                    return new Located(library, file.toString(), "CUDA toolkit " + toolkit.getFileName());
                }
                tried.add(file.toString());
            }
        }
        throw new LibraryNotFoundException(library, tried);
    }

    private Located locateBundled(CudaLibrary library, List<String> tried) {
        URL resource = environment.resources().apply(CudaLibrary.LEVIATHAN_RESOURCE);
        if (resource == null) {
            tried.add("class-path resource " + CudaLibrary.LEVIATHAN_RESOURCE + " (absent)");
            throw new LibraryNotFoundException(library, tried);
        }
        Path file = extract(resource, environment.cacheFolder(), library.fileName());
        return new Located(library, file.toString(), "extracted from " + resource);
    }

    private Located searchWheels(CudaLibrary library, List<Path> sites, String source, List<String> tried) {
        for (Path site : sites) {
            for (String folder : WHEEL_FOLDERS) {
                Path file = site.resolve(folder).resolve(library.fileName());
                if (Files.isRegularFile(file)) {
                    return new Located(library, file.toString(), source);
                }
                tried.add(file.toString());
            }
        }
        return null;
    }

    private Path alreadyLoaded(CudaLibrary library) {
        Path maps = environment.onMachine("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return null;
        }
        try (BufferedReader in = Files.newBufferedReader(maps, StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null) {
                int slash = line.indexOf('/');
                if (slash < 0) {
                    continue;
                }
                String path = line.substring(slash).strip();
                Path file = Path.of(path);
                if (file.getFileName() != null && library.isLoadedFile(file.getFileName().toString())) {
                    return environment.onMachine(path);
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    /** {@code lib/python3*}{@code /site-packages} under a virtual or conda environment. */
    private static List<Path> sitePackagesUnder(Path prefix) {
        Path lib = prefix.resolve("lib");
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(lib)) {
            return found;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(lib, "python3*")) {
            for (Path d : dirs) {
                Path site = d.resolve("site-packages");
                if (Files.isDirectory(site)) {
                    found.add(site);
                }
            }
        } catch (IOException e) {
            return found;
        }
        found.sort(Comparator.comparing(Path::toString).reversed());
        return found;
    }

    /** {@code /usr/local/cuda} first, then the versioned folders, newest name first. */
    private List<Path> cudaToolkits() {
        Path local = environment.onMachine("/usr/local");
        List<Path> found = new ArrayList<>();
        if (Files.isDirectory(local.resolve("cuda"))) {
            found.add(local.resolve("cuda"));
        }
        List<Path> versioned = new ArrayList<>();
        if (Files.isDirectory(local)) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(local, "cuda-*")) {
                dirs.forEach(versioned::add);
            } catch (IOException e) {
                // an unreadable /usr/local: only /usr/local/cuda is listed as tried
            }
        }
        versioned.sort(Comparator.comparing(Path::toString).reversed());
        found.addAll(versioned);
        if (found.isEmpty()) {
            found.add(local.resolve("cuda"));
        }
        return found;
    }

    /**
     * Copies a resource to {@code cache/<sha-256 prefix>/fileName} unless that file is already there; written
     * to a temporary file and renamed, so concurrent processes never see a half-written library.
     */
    static Path extract(URL resource, Path cache, String fileName) {
        byte[] bytes;
        try (InputStream in = resource.openStream()) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
        String hash;
        try {
            hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
        Path folder = cache.resolve(hash);
        Path target = folder.resolve(fileName);
        try {
            if (Files.isRegularFile(target) && Files.size(target) == bytes.length) {
                return target;
            }
            Files.createDirectories(folder);
            Path temp = Files.createTempFile(folder, fileName, ".part");
            try {
                Files.write(temp, bytes);
                try {
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(temp);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + resource + " to " + target, e);
        }
    }

    private static boolean nonBlank(String s) {
        return s != null && !s.isBlank();
    }

    /**
     * Where a library was found.
     *
     * @param library which library
     * @param location an absolute path, or the bare file name when the system loader found it
     * @param source which step of the search found it, for messages and {@code leviathan info}
     */
    public record Located(CudaLibrary library, String location, String source) {
        /** The folder of an absolute location, null for a system-loader hit. */
        public Path folder() {
            return location.contains("/") ? Path.of(location).getParent() : null;
        }
    }

    /**
     * What the search reads of the machine.
     *
     * @param env environment variables
     * @param properties system properties
     * @param pythonSitePackages the site-packages folders of the {@code python3} on the PATH (asked lazily)
     * @param root the file-system root every absolute path is taken under ({@code /} on a real machine)
     * @param systemLoader whether the system loader can load a library of this name
     * @param resources finds a class-path resource, or null
     * @param cacheFolder where our bundled library is extracted to
     */
    public record Environment(Map<String, String> env, Map<String, String> properties,
                              Supplier<List<String>> pythonSitePackages, Path root, Predicate<String> systemLoader,
                              Function<String, URL> resources, Path cacheFolder) {

        /** An absolute path on the machine, taken under {@link #root()}. */
        public Path onMachine(String absolute) {
            String relative = absolute.startsWith("/") ? absolute.substring(1) : absolute;
            return relative.isEmpty() ? root : root.resolve(relative);
        }

        /** This process and machine. */
        public static Environment system() {
            Map<String, String> env = System.getenv();
            Map<String, String> props = new ConcurrentHashMap<>();
            System.getProperties().forEach((k, v) -> props.put(String.valueOf(k), String.valueOf(v)));
            return new Environment(env, props, memoize(CudaLibraries::askPython), Path.of("/"),
                    CudaLibraries::systemLoaderHas, CudaLibraries.class.getClassLoader()::getResource,
                    defaultCacheFolder(env));
        }

        /** {@code $XDG_CACHE_HOME/leviathan/native}, else {@code ~/.cache/leviathan/native}. */
        static Path defaultCacheFolder(Map<String, String> env) {
            String xdg = env.get("XDG_CACHE_HOME");
            Path base = nonBlank(xdg) ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
            return base.resolve("leviathan").resolve("native");
        }
    }

    private static boolean systemLoaderHas(String name) {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup(name, arena);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Asks the {@code python3} on the PATH for its site-packages folders; empty when it is absent or slow. */
    static List<String> askPython() {
        Process p;
        try {
            p = new ProcessBuilder("python3", "-c",
                    "import site\nfor d in site.getsitepackages() + [site.getusersitepackages()]: print(d)")
                    .redirectErrorStream(false)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            return List.of();
        }
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return List.of();
            }
            Set<String> dirs = new LinkedHashSet<>();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                out.lines().map(String::strip).filter(s -> s.startsWith("/")).forEach(dirs::add);
            }
            return List.copyOf(dirs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static <T> Supplier<T> memoize(Supplier<T> supplier) {
        return new Supplier<>() {
            private volatile T value;

            @Override
            public T get() {
                T v = value;
                if (v == null) {
                    synchronized (this) {
                        v = value;
                        if (v == null) {
                            v = supplier.get();
                            value = v;
                        }
                    }
                }
                return v;
            }
        };
    }
}
