/**
 * Training data: corpus readers (plain text, JSON Lines, zstd-compressed JSON Lines), tokenisation with
 * jtokkit, token shards on disk, memory-mapped datasets and deterministic batch sampling.
 */
package io.leviathan.data;
