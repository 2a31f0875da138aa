package io.leviathan.train;

import java.nio.file.Path;

/** Another process (or another run in this one) holds the {@link RunLock} of a run folder. */
public final class RunFolderBusyException extends IllegalStateException {
    private final Path folder;
    private final String holderPid;

    RunFolderBusyException(Path folder, String holderPid, String holderStarted) {
        super("run folder " + folder + " is in use by another run: pid " + holderPid
                + (holderStarted != null ? ", started " + holderStarted : "") + ", holds " + folder.resolve(RunLock.FILE)
                + "; wait for that run to end (or stop it), or choose another --out");
        this.folder = folder;
        this.holderPid = holderPid;
    }

    /** The folder that is in use. */
    public Path folder() {
        return folder;
    }

    /** The holding process's pid as its lock file gives it (a number, or a phrase when unknown). */
    public String holderPid() {
        return holderPid;
    }
}
