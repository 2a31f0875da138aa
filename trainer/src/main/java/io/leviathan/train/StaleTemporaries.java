package io.leviathan.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The temporary files a killed write leaves in a run folder. Every file the trainer publishes atomically
 * (checkpoints, metrics, config, plots, prepared data, sweep results) is first written to a hidden
 * {@code .<name>...tmp} file in the folder it ends up in, so a process killed mid-write leaves one such
 * file, up to the size of what it was writing. Only a process holding the folder's {@link RunLock} may
 * remove them: then nobody else can be writing one.
 */
public final class StaleTemporaries {
    private StaleTemporaries() {}

    /** The sub-folders of a run folder that the trainer writes into, besides the folder itself. */
    static final List<String> SUBFOLDERS = List.of(Checkpoint.DIR, "data");

    /** What {@link #remove} removed. */
    public record Removed(int files, long bytes) {
        /** "removed 2 stale temporary files (14.2 MB) from a previous run". */
        public String describe() {
            return "removed " + files + " stale temporary file" + (files == 1 ? "" : "s") + " (" + size(bytes)
                    + ") from a previous run";
        }
    }

    /** True for a name the trainer's temporary files have: hidden, ending in {@code .tmp}. */
    public static boolean isTemporaryName(String name) {
        return name.startsWith(".") && name.endsWith(".tmp") && name.length() > ".tmp".length() + 1;
    }

    /**
     * Deletes the temporary files in {@code runDir} and its {@link #SUBFOLDERS} (not deeper, and no links
     * or folders). The caller must hold the folder's {@link RunLock}.
     */
    public static Removed remove(Path runDir) {
        int files = 0;
        long bytes = 0;
        for (Path dir : Stream.concat(Stream.of(runDir), SUBFOLDERS.stream().map(runDir::resolve)).toList()) {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            List<Path> found;
            try (Stream<Path> s = Files.list(dir)) {
                found = s.filter(p -> isTemporaryName(p.getFileName().toString())).toList();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + dir + " for stale temporary files: " + e.getMessage(), e);
            }
            for (Path p : found) {
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    if (!a.isRegularFile()) {
                        continue;
                    }
                    if (Files.deleteIfExists(p)) {
                        files++;
                        bytes += a.size();
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot remove the stale temporary file " + p + ": " + e.getMessage(), e);
                }
            }
        }
        return new Removed(files, bytes);
    }

    /** A byte count for people: "512 bytes", "14.2 MB" (decimal units, as disk sizes are given). */
    static String size(long bytes) {
        if (bytes < 1000) {
            return bytes + (bytes == 1 ? " byte" : " bytes");
        }
        String[] units = {"kB", "MB", "GB", "TB", "PB", "EB"};
        double v = bytes;
        int u = -1;
        while (v >= 999.95 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
