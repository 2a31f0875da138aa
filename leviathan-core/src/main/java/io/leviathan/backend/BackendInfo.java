package io.leviathan.backend;

/**
 * What {@link Backends#probe()} found out about one backend.
 *
 * @param name the backend's name, as {@link Backends#create} takes it
 * @param available whether it can run on this machine
 * @param detail what it runs on when available, or why it is not
 */
public record BackendInfo(String name, boolean available, String detail) {}
