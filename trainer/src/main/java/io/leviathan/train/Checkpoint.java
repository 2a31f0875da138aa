package io.leviathan.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.leviathan.backend.Backend;
import io.leviathan.backend.HostTensors;
import io.leviathan.data.VocabularyMap;
import io.leviathan.io.SafeTensors;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigFiles;
import io.leviathan.model.Parameter;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * A training checkpoint: one safetensors file {@code <run>/checkpoints/step-NNNNNNN.safetensors} holding
 * <ul>
 *   <li>the weights under their Hugging Face LLaMA names ({@code model.layers.0.self_attn.q_proj.weight},
 *       {@code lm_head.weight}, the generator's {@code model.generator.*}), F32;</li>
 *   <li>the AdamW moments {@code adamw.m.<param>} and {@code adamw.v.<param>}, F32;</li>
 *   <li>{@code __metadata__} (strings): {@code format} = {@code pt}, {@code leviathan.checkpoint} (format
 *       version), {@code step} (updates done), {@code adamw_steps}, {@code model_config} (ModelConfigFiles
 *       JSON), {@code crc32c} (of every tensor byte, in file order), and what the trainer adds:
 *       {@code train_config} (the run's {@link TrainConfig} JSON), {@code sampler_state} (the training
 *       BatchSampler's state: RNG and position, a JSON array of longs), {@code tokens_seen} (data position
 *       in tokens), {@code dataset} (its folder), {@code tokenizer}, {@code vocabulary_map} (the VocabularyMap's
 *       JSON, absent without compaction) and {@code vocabulary_sha256} (of the original ids, or
 *       {@code none}).</li>
 * </ul>
 * {@link #save} writes through {@link SafeTensors#write} to a temporary file, then publishes it under its name
 * with a link that fails if the name exists, so an existing checkpoint is never overwritten, not even by a
 * concurrent writer; and deletes older checkpoints beyond the newest K only after the new one is in
 * place. {@link #load} maps the file read-only, checks the marker and the checksum, and names the problem
 * when the file is truncated, corrupted, or not a checkpoint; {@link #restoreWeights} and
 * {@link #restoreOptimizer} refuse a checkpoint of another model, naming what differs.
 */
public final class Checkpoint implements AutoCloseable {
    /** Metadata key marking a Leviathan checkpoint; its value is the format version. */
    public static final String MARKER = "leviathan.checkpoint";
    public static final String VERSION = "1";
    /** The folder inside a run folder that holds its checkpoints. */
    public static final String DIR = "checkpoints";
    private static final Pattern NAME = Pattern.compile("step-(\\d{7,})\\.safetensors");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final TensorArena arena;
    private final SafeTensors tensors;
    private final long step;
    private final ModelConfig modelConfig;

    private Checkpoint(Path file, TensorArena arena, SafeTensors tensors, long step, ModelConfig modelConfig) {
        this.file = file;
        this.arena = arena;
        this.tensors = tensors;
        this.step = step;
        this.modelConfig = modelConfig;
    }

    // ---------------------------------------------------------------- saving

    /** The file name of the checkpoint at {@code step}: {@code step-NNNNNNN.safetensors}. */
    public static String fileName(long step) {
        return String.format("step-%07d.safetensors", step);
    }

    /**
     * Writes the checkpoint of {@code model} and {@code opt} after {@code step} updates into {@code dir} as
     * {@link #fileName}, with {@code extra} metadata, then deletes all but the newest {@code keep}
     * checkpoints there. Returns the new file.
     *
     * @throws IllegalStateException if that file already exists (a checkpoint is never overwritten)
     */
    public static Path save(Path dir, long step, LlamaModel model, AdamW opt, Map<String, String> extra, int keep) {
        Path target = dir.resolve(fileName(step));
        if (Files.exists(target)) {
            throw new IllegalStateException("checkpoint " + target + " already exists; refusing to overwrite it");
        }
        Map<String, Tensor> all = new LinkedHashMap<>();
        for (Parameter p : model.parameters().all()) {
            all.put(p.name(), p.value());
        }
        all.putAll(opt.state());
        // Device tensors come to the host through the backend (a no-op for host memory).
        try (TensorArena staging = new TensorArena()) {
            return write(target, dir, HostTensors.of(model.backend(), all, staging), step, model, opt, extra, keep);
        }
    }

    private static Path write(Path target, Path dir, Map<String, Tensor> all, long step, LlamaModel model, AdamW opt,
                              Map<String, String> extra, int keep) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put(MARKER, VERSION);
        meta.put("step", Long.toString(step));
        meta.put("adamw_steps", Long.toString(opt.steps()));
        meta.put("model_config", ModelConfigFiles.toJson(ModelConfigFiles.toMap(null, model.config())));
        meta.put("crc32c", crc(all.values()));
        if (extra != null) {
            for (Map.Entry<String, String> e : extra.entrySet()) {
                if (meta.containsKey(e.getKey())) {
                    throw new IllegalArgumentException("checkpoint metadata key '" + e.getKey() + "' is reserved");
                }
                meta.put(e.getKey(), e.getValue());
            }
        }
        writeNew(target, all, meta);
        prune(dir, keep);
        return target;
    }

    /**
     * Writes the file under a temporary name of its own, then publishes it without replacing: a checkpoint
     * that appeared meanwhile (another process writing into this folder) is refused, never overwritten.
     */
    private static void writeNew(Path target, Map<String, Tensor> all, Map<String, String> meta) {
        Path staged = null;
        try {
            Path dir = Files.createDirectories(target.toAbsolutePath().getParent());
            staged = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
            SafeTensors.write(staged, all, meta);
            NoReplacePublish.publish(staged, target);
        } catch (FileAlreadyExistsException e) {
            throw new IllegalStateException("checkpoint " + target + " appeared while this one was being written"
                    + " (another run writing into the same folder?); refusing to overwrite it", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + target + ": " + e.getMessage(), e);
        } finally {
            if (staged != null) {
                try {
                    Files.deleteIfExists(staged);
                } catch (IOException ignored) {
                    // left behind as a stale temporary; the next run in this folder removes it
                }
            }
        }
    }

    /** Deletes all but the newest {@code keep} checkpoints in {@code dir}. */
    static void prune(Path dir, int keep) {
        List<Path> files = list(dir);
        for (int i = 0; i < files.size() - keep; i++) {
            try {
                Files.deleteIfExists(files.get(i));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete old checkpoint " + files.get(i) + ": " + e.getMessage(), e);
            }
        }
    }

    /** The checkpoints in {@code dir}, oldest first (empty when there is no such folder). */
    public static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> NAME.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p))
                    .sorted((a, b) -> Long.compare(stepOf(a), stepOf(b)))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The step in a checkpoint file's name, or -1. */
    public static long stepOf(Path file) {
        Matcher m = NAME.matcher(file.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /**
     * The checkpoint file {@code dirOrFile} names: the file itself, else the newest checkpoint in
     * {@code dirOrFile/checkpoints} (a run folder) or in {@code dirOrFile} (a checkpoints folder).
     */
    public static Path resolve(Path dirOrFile) {
        if (Files.isRegularFile(dirOrFile)) {
            return dirOrFile;
        }
        if (!Files.isDirectory(dirOrFile)) {
            throw new IllegalArgumentException("checkpoint " + dirOrFile + ": no such file or folder");
        }
        List<Path> files = list(dirOrFile.resolve(DIR));
        if (files.isEmpty()) {
            files = list(dirOrFile);
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no checkpoint in " + dirOrFile + " (expected " + DIR
                    + "/step-NNNNNNN.safetensors in a run folder)");
        }
        return files.getLast();
    }

    // ---------------------------------------------------------------- loading

    /**
     * Opens the checkpoint {@code dirOrFile} names (see {@link #resolve}), mapping it read-only, and checks
     * that it is a complete Leviathan checkpoint.
     *
     * @throws IllegalArgumentException naming the file and the problem (truncated, corrupted, not a checkpoint)
     */
    public static Checkpoint load(Path dirOrFile) {
        Path file = resolve(dirOrFile);
        TensorArena arena = new TensorArena();
        try {
            SafeTensors st;
            try {
                st = SafeTensors.open(file, arena);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("checkpoint " + file + " is damaged (truncated or corrupted?): "
                        + e.getMessage(), e);
            }
            Map<String, String> meta = st.metadata();
            if (!meta.containsKey(MARKER)) {
                throw new IllegalArgumentException(file + " is a safetensors file but not a Leviathan checkpoint"
                        + " (no '" + MARKER + "' metadata); for weights alone use the export/import tools");
            }
            if (!VERSION.equals(meta.get(MARKER))) {
                throw new IllegalArgumentException("checkpoint " + file + " has format version " + meta.get(MARKER)
                        + "; this build reads version " + VERSION);
            }
            String expected = required(file, meta, "crc32c");
            List<Tensor> ordered = new ArrayList<>();
            for (String name : st.names()) {
                ordered.add(st.get(name));
            }
            String actual = crc(ordered);
            if (!expected.equals(actual)) {
                throw new IllegalArgumentException("checkpoint " + file + " is corrupted: its tensor data has CRC32C "
                        + actual + " but was written with " + expected);
            }
            long step = parseLong(file, meta, "step");
            ModelConfig config;
            try {
                config = ModelConfigFiles.parse(required(file, meta, "model_config"), file + " model_config").config();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("checkpoint " + file + ": bad model_config: " + e.getMessage(), e);
            }
            return new Checkpoint(file, arena, st, step, config);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** The file. */
    public Path file() {
        return file;
    }

    /** Updates done when it was written. */
    public long step() {
        return step;
    }

    /** The model it holds. */
    public ModelConfig modelConfig() {
        return modelConfig;
    }

    /** Every metadata entry. */
    public Map<String, String> metadata() {
        return tensors.metadata();
    }

    /** The metadata entry {@code key}; throws naming the file if absent. */
    public String metadata(String key) {
        return required(file, tensors.metadata(), key);
    }

    /** The tensors (weights and moments), mapped read-only until {@link #close()}. */
    public SafeTensors tensors() {
        return tensors;
    }

    /** The training configuration it was written with. */
    public TrainConfig trainConfig() {
        try {
            return TrainConfig.parse(metadata("train_config"), file + " train_config");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("checkpoint " + file + ": " + e.getMessage(), e);
        }
    }

    /** The tokenizer name. */
    public String tokenizerName() {
        return metadata("tokenizer");
    }

    /** The training sampler's state. */
    public long[] samplerState() {
        return longs(file, metadata("sampler_state"), "sampler_state");
    }

    /** The vocabulary map the model's ids go through, if the data was compacted. */
    public Optional<VocabularyMap> vocabularyMap() {
        String text = tensors.metadata().get("vocabulary_map");
        return text == null ? Optional.empty() : Optional.of(vocabularyFromText(text));
    }

    /**
     * Copies the weights into {@code model}.
     *
     * @throws IllegalArgumentException if the model's configuration, or any tensor's name or shape, differs
     */
    public void restoreWeights(LlamaModel model) {
        checkModel(model.config());
        for (Parameter p : model.parameters().all()) {
            copy(model.backend(), p.name(), p.value());
        }
    }

    /** Copies the AdamW moments and step count into {@code opt}. */
    public void restoreOptimizer(AdamW opt) {
        for (Map.Entry<String, Tensor> e : opt.state().entrySet()) {
            copy(opt.backend(), e.getKey(), e.getValue());
        }
        opt.setSteps(parseLong(file, metadata(), "adamw_steps"));
    }

    /** Throws, naming every difference, unless {@code config} is the checkpoint's model. */
    public void checkModel(ModelConfig config) {
        if (!config.equals(modelConfig)) {
            throw new IllegalArgumentException("checkpoint " + file + " holds a different model: "
                    + differences(modelConfig, config));
        }
    }

    /** "vocab 5000 in the checkpoint, 6000 here; ..." for every differing configuration key. */
    static String differences(ModelConfig theirs, ModelConfig ours) {
        Map<String, Object> a = ModelConfigFiles.toMap(null, theirs);
        Map<String, Object> b = ModelConfigFiles.toMap(null, ours);
        List<String> diffs = new ArrayList<>();
        for (String k : ModelConfigFiles.KEYS) {
            Object x = a.get(k);
            Object y = b.get(k);
            if (x == null ? y != null : !x.equals(y)) {
                diffs.add(k + " " + x + " in the checkpoint, " + y + " here");
            }
        }
        return String.join("; ", diffs);
    }

    private void copy(Backend be, String name, Tensor dst) {
        if (!tensors.contains(name)) {
            throw new IllegalArgumentException("checkpoint " + file + " has no tensor '" + name
                    + "' (a checkpoint of a different model?)");
        }
        Tensor src = tensors.get(name);
        if (!Arrays.equals(src.shape(), dst.shape()) || src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("checkpoint " + file + ": tensor '" + name + "' is " + src.dtype()
                    + Arrays.toString(src.shape()) + " but the model expects " + dst.dtype()
                    + Arrays.toString(dst.shape()));
        }
        be.upload(src.segment(), dst); // the file is mapped into host memory; dst may be device memory
    }

    /** Unmaps the file. */
    @Override
    public void close() {
        arena.close();
    }

    // ---------------------------------------------------------------- vocabulary maps as metadata

    /** The map as JSON text ({@link VocabularyMap#toJsonString}), to embed in metadata. */
    public static String vocabularyText(VocabularyMap map) {
        return map.toJsonString();
    }

    /** A map from its JSON text. */
    VocabularyMap vocabularyFromText(String text) {
        return VocabularyMap.fromJsonString(text, "checkpoint " + file + " metadata 'vocabulary_map'");
    }

    /** SHA-256 of the map's original ids (little-endian int32), or {@code none}. */
    public static String vocabularyHash(Optional<VocabularyMap> map) {
        if (map.isEmpty()) {
            return "none";
        }
        int[] ids = map.get().originalIds();
        ByteBuffer b = ByteBuffer.allocate(ids.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(ids);
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.array()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static String crc(Iterable<Tensor> tensors) {
        CRC32C c = new CRC32C();
        for (Tensor t : tensors) {
            if (!t.isContiguous()) {
                throw new IllegalArgumentException("checkpoint tensors must be contiguous: " + t.describe());
            }
            c.update(t.segment().asByteBuffer());
        }
        return String.format("%08x", c.getValue());
    }

    static String json(long[] values) {
        try {
            return JSON.writeValueAsString(values);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long[] longs(Path file, String text, String key) {
        try {
            JsonNode n = JSON.readTree(text);
            if (n == null || !n.isArray()) {
                throw new IllegalArgumentException("not an array");
            }
            long[] out = new long[n.size()];
            for (int i = 0; i < out.length; i++) {
                if (!n.get(i).canConvertToLong() || !n.get(i).isIntegralNumber()) {
                    throw new IllegalArgumentException("element " + i + " is not an integer");
                }
                out[i] = n.get(i).longValue();
            }
            return out;
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new IllegalArgumentException("checkpoint " + file + ": metadata '" + key
                    + "' must be a JSON array of integers: " + e.getMessage(), e);
        }
    }

    private static String required(Path file, Map<String, String> meta, String key) {
        String v = meta.get(key);
        if (v == null) {
            throw new IllegalArgumentException("checkpoint " + file + " has no '" + key + "' metadata");
        }
        return v;
    }

    private static long parseLong(Path file, Map<String, String> meta, String key) {
        String v = required(file, meta, key);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("checkpoint " + file + ": metadata '" + key + "' is not an integer: " + v);
        }
    }

}
