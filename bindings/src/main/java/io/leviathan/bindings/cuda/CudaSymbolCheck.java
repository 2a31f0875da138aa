package io.leviathan.bindings.cuda;

import io.leviathan.bindings.LinkedLibrary;
import io.leviathan.bindings.NativeFunction;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks that every symbol a binding table binds is exported by the library that is really loaded (versioned
 * names such as {@code cuDeviceTotalMem_v2} included), without calling anything. Command line:
 * {@code java --enable-native-access=ALL-UNNAMED -cp leviathan-bindings.jar
 * io.leviathan.bindings.cuda.CudaSymbolCheck}: finds each table's library through {@link CudaLibraries}, prints a
 * table of library, symbol and whether it is exported, and exits 1 when a symbol is missing or a library is not
 * found.
 */
public final class CudaSymbolCheck {
    private CudaSymbolCheck() {}

    /**
     * One bound symbol.
     *
     * @param table the binding table's name
     * @param file the library file looked in
     * @param symbol the symbol
     * @param exported whether the library exports it
     */
    public record Row(String table, String file, String symbol, boolean exported) {}

    /** Whether {@code library} exports each symbol of {@code table}. */
    public static List<Row> check(BindingTable table, LinkedLibrary library) {
        List<Row> rows = new ArrayList<>();
        for (NativeFunction f : table.functions()) {
            rows.add(new Row(table.name(), library.file(), f.symbol(), library.has(f.symbol())));
        }
        return rows;
    }

    /** Prints the table for every binding table's library; exit status 1 when anything is missing. */
    public static void main(String[] args) {
        boolean ok = true;
        CudaLibraries libraries = CudaLibraries.system();
        System.out.printf("%-34s %-30s %s%n", "binding", "symbol", "exported by");
        for (BindingTable table : CudaBindingTables.ALL) {
            LinkedLibrary library;
            try {
                library = libraries.load(table.library());
            } catch (RuntimeException e) {
                System.out.printf("%-34s %-30s NOT FOUND: %s%n", table.name(), "-", e.getMessage());
                ok = false;
                continue;
            }
            for (Row r : check(table, library)) {
                System.out.printf("%-34s %-30s %s%n", r.table(), r.symbol(),
                        r.exported() ? r.file() : "MISSING from " + r.file());
                ok &= r.exported();
            }
        }
        System.exit(ok ? 0 : 1);
    }
}
