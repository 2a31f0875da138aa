package io.leviathan.cli;

import io.leviathan.data.Tokenizer;
import io.leviathan.model.Family;
import io.leviathan.model.Precision;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;

/** The values of options that take one of a known list, for help and shell completion. */
final class Candidates {
    private Candidates() {}

    /** Model presets. */
    static final class Presets implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return io.leviathan.model.Presets.names().iterator();
        }
    }

    /** Model families, as config files and options spell them. */
    static final class Families implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(Family.values()).map(f -> f.name().toLowerCase(Locale.ROOT)).iterator();
        }
    }

    /** Training and estimate precisions. */
    static final class Precisions implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(Precision.values()).map(Precision::label).iterator();
        }
    }

    /** Tokenizer names. */
    static final class Tokenizers implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Tokenizer.names().iterator();
        }
    }
}
