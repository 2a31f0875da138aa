package io.leviathan.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Publishes a finished file under its final name without ever replacing a file already there.
 * {@code Files.move(.., ATOMIC_MOVE)} is rename(2), which replaces the target on Linux, and a plain
 * {@code Files.move} checks for the target and then renames, so two writers can both pass the check. A
 * hard link is created atomically and fails when the name exists, so of two writers publishing the same
 * name exactly one succeeds and the other's file is left untouched.
 */
final class NoReplacePublish {
    private NoReplacePublish() {}

    /**
     * Gives the complete file {@code staged} the name {@code target} (same folder) and removes the name
     * {@code staged}, unless {@code target} exists.
     *
     * @throws FileAlreadyExistsException naming {@code target} when it exists; {@code staged} is then left
     *     for the caller to delete and {@code target} is not touched
     * @throws UncheckedIOException on any other failure
     */
    static void publish(Path staged, Path target) throws FileAlreadyExistsException {
        try {
            try {
                Files.createLink(target, staged);
            } catch (FileAlreadyExistsException e) {
                throw new FileAlreadyExistsException(target.toString(), null, "already exists; not replaced");
            } catch (UnsupportedOperationException | FileSystemException e) {
                // a file system without hard links (some FUSE and network mounts): a checked move; the run
                // folder's lock keeps other trainers out meanwhile
                if (e instanceof FileSystemException fse && !linksUnsupported(fse)) {
                    throw fse;
                }
                Files.move(staged, target);
                return;
            }
            Files.delete(staged);
        } catch (FileAlreadyExistsException e) {
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot publish " + staged + " as " + target + ": " + e.getMessage(), e);
        }
    }

    /** True when the failure says that the file system has no hard links (EPERM or ENOTSUP, not ENOENT etc.). */
    private static boolean linksUnsupported(FileSystemException e) {
        String r = e.getReason();
        return r != null && (r.contains("Operation not permitted") || r.contains("not supported"));
    }
}
