package io.leviathan.train;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An exclusive lock on a run folder, held from before anything is written there until the run ends, so
 * that two processes never train into (or resume) the same folder at once.
 *
 * <p>The lock is an operating-system file lock ({@link FileChannel#tryLock()}) on {@code <folder>/run.lock}:
 * it excludes other processes, not only other threads, and the kernel drops it when its process dies, so
 * a run killed with {@code kill -9} never leaves a folder locked. While held, the file names the holder
 * ({@code pid} and {@code started} lines) for the error the next process prints. The file itself stays in
 * the folder, emptied on release: deleting it would let a process that opened it just before the deletion
 * lock the orphaned file while a third locks a new one.
 *
 * <p>POSIX drops all of a process's locks on a file when any of its descriptors of that file is closed, so
 * this process must never open the lock file a second time while it holds it: a folder this process
 * holds is refused from a table of held folders, before the file is opened.
 *
 * <p>Once the lock is held, no other process can be writing into the folder, so temporary files left
 * there by a killed write are stale: {@link #acquire} removes them (see {@link StaleTemporaries}) and says
 * how much space that reclaimed.
 */
public final class RunLock implements AutoCloseable {
    /** The lock file's name inside a run folder. */
    public static final String FILE = "run.lock";

    /** The folders this process holds (real paths), with the time each was locked. */
    private static final Map<Path, String> HELD = new ConcurrentHashMap<>();

    private final Path folder;
    private final Path key;
    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(Path folder, Path key, FileChannel channel, FileLock lock) {
        this.folder = folder;
        this.key = key;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code folder} (creating it if needed), removes the stale temporary files a killed run left in
     * it, and reports any removed on {@code out}.
     *
     * @throws RunFolderBusyException if another process (or another run in this one) holds the folder,
     *     naming the folder and the holder's pid
     * @throws UncheckedIOException if the folder or lock file cannot be created or locked
     */
    public static RunLock acquire(Path folder, PrintStream out) {
        Path dir = folder.toAbsolutePath().normalize();
        Path file = dir.resolve(FILE);
        FileChannel ch = null;
        Path key = null;
        try {
            Files.createDirectories(dir);
            Path real = dir.toRealPath();
            String started = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
            String before = HELD.putIfAbsent(real, started);
            if (before != null) {
                throw new RunFolderBusyException(dir, ProcessHandle.current().pid() + " (this process)", before);
            }
            key = real;
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                // held through another spelling of the path that the table missed: still this process
                throw new RunFolderBusyException(dir, ProcessHandle.current().pid() + " (this process)", null);
            }
            if (lock == null) {
                String holder = holderText(ch);
                String pid = field(holder, "pid");
                throw new RunFolderBusyException(dir, pid != null ? pid : "unknown (the holder is still starting)",
                        field(holder, "started"));
            }
            RunLock held = new RunLock(dir, real, ch, lock);
            ch = null; // owned by held from here on
            key = null;
            try {
                held.writeHolder(started);
                StaleTemporaries.Removed removed = StaleTemporaries.remove(dir);
                if (removed.files() > 0) {
                    out.println(removed.describe());
                }
            } catch (IOException | RuntimeException e) {
                held.close();
                throw e;
            }
            return held;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock run folder " + dir + " (" + file + "): " + e.getMessage(), e);
        } finally {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // nothing was locked through it
                }
            }
            if (key != null) {
                HELD.remove(key);
            }
        }
    }

    /** The locked folder. */
    public Path folder() {
        return folder;
    }

    /** Empties the lock file and releases the lock. */
    @Override
    public void close() {
        if (!channel.isOpen()) {
            return;
        }
        try (channel) {
            channel.truncate(0); // still under the lock: nobody reads a half-cleared holder
            lock.release();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot release the lock on run folder " + folder + ": " + e.getMessage(), e);
        } finally {
            HELD.remove(key);
        }
    }

    private void writeHolder(String started) throws IOException {
        String text = "pid " + ProcessHandle.current().pid() + "\nstarted " + started + "\n";
        channel.truncate(0);
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        long pos = 0;
        while (b.hasRemaining()) {
            pos += channel.write(b, pos);
        }
        channel.force(false);
    }

    /**
     * The holder's lines. It writes them right after taking the lock, so a process that finds the lock
     * taken an instant before may read an empty file: it waits a moment for them.
     */
    static String holderText(FileChannel ch) {
        long deadline = System.nanoTime() + 2_000_000_000L;
        String text = read(ch);
        // complete once both lines are there, the last one ended
        while (!(text.endsWith("\n") && field(text, "started") != null) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            text = read(ch);
        }
        return text;
    }

    private static String read(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(256); // the holder writes two short lines
            while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
                // read until full or end of file
            }
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static String field(String text, String key) {
        for (String line : text.split("\n")) {
            if (line.startsWith(key + " ") && line.length() > key.length() + 1) {
                return line.substring(key.length() + 1).strip();
            }
        }
        return null;
    }
}
