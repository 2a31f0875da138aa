package io.leviathan.bindings.cuda;

import java.io.Serial;
import java.util.List;

/** A CUDA library was found nowhere; the message lists every place the search tried, in order. */
public final class LibraryNotFoundException extends RuntimeException {
    @Serial
    private static final long serialVersionUID = 1L;

    private final CudaLibrary library;
    private final String[] tried;

    /** {@code library} was in none of the places in {@code tried}. */
    public LibraryNotFoundException(CudaLibrary library, List<String> tried) {
        super(library.fileName() + " not found; tried, in order:\n  " + String.join("\n  ", tried)
                + "\nSet -D" + library.property() + "=FILE or $" + library.environmentVariable() + " to point at it.");
        this.library = library;
        this.tried = tried.toArray(String[]::new);
    }

    /** The library that was looked for. */
    public CudaLibrary library() {
        return library;
    }

    /** One line: the file and every place tried, for a reason shown beside other text. */
    public String oneLine() {
        return library.fileName() + " not found (tried: " + String.join("; ", this.tried) + "; set -D" + library.property()
                + "=FILE or $" + library.environmentVariable() + ")";
    }

    /** Every place tried, in order. */
    public List<String> tried() {
        return List.of(tried);
    }
}
