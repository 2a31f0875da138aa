package io.leviathan.bindings;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A native library loaded from one file, whose functions are linked on first use and cached. A missing
 * symbol is an {@link UnsatisfiedLinkError} naming the symbol and the file.
 */
public final class LinkedLibrary {
    private static final Linker LINKER = Linker.nativeLinker();

    private final String file;
    private final SymbolLookup lookup;
    private final Map<String, MethodHandle> handles = new ConcurrentHashMap<>();

    private LinkedLibrary(String file, SymbolLookup lookup) {
        this.file = file;
        this.lookup = lookup;
    }

    /**
     * Loads {@code file} (an absolute path, or a name for the system loader) for the life of the process.
     *
     * @throws IllegalArgumentException when the library cannot be loaded
     * @throws IllegalCallerException when native access is not enabled for this module
     */
    public static LinkedLibrary load(String file) {
        SymbolLookup lookup = file.contains("/")
                ? SymbolLookup.libraryLookup(Path.of(file), Arena.global())
                : SymbolLookup.libraryLookup(file, Arena.global());
        return new LinkedLibrary(file, lookup);
    }

    /** The path or name it was loaded from. */
    public String file() {
        return file;
    }

    /** True when the library exports {@code symbol}. */
    public boolean has(String symbol) {
        return lookup.find(symbol).isPresent();
    }

    /** The downcall handle of {@code f}, linked on first use. */
    public MethodHandle handle(NativeFunction f) {
        return handles.computeIfAbsent(f.symbol(), s -> LINKER.downcallHandle(
                lookup.find(s).orElseThrow(() -> new UnsatisfiedLinkError(
                        "symbol " + s + " (" + f.declaration() + ") not found in " + file)),
                f.descriptor()));
    }

    @Override
    public String toString() {
        return file;
    }
}
