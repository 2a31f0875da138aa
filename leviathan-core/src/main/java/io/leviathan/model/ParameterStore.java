package io.leviathan.model;

import io.leviathan.backend.Backend;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The parameters of a model in creation order, each with its gradient, allocated from one arena. */
public final class ParameterStore {
    private final TensorArena arena;
    private final Map<String, Parameter> byName = new LinkedHashMap<>();

    public ParameterStore(TensorArena arena) {
        this.arena = arena;
    }

    /** Allocates a zero-filled parameter and its gradient. Names must be unique. */
    public Parameter create(String name, boolean decay, long... shape) {
        if (byName.containsKey(name)) {
            throw new IllegalArgumentException("parameter '" + name + "' already exists");
        }
        Parameter p = new Parameter(name, arena.allocate(DType.F32, shape), arena.allocate(DType.F32, shape), decay);
        byName.put(name, p);
        return p;
    }

    /** The parameter called {@code name}; throws naming the known ones if absent. */
    public Parameter get(String name) {
        Parameter p = byName.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no parameter '" + name + "'; known: " + byName.keySet());
        }
        return p;
    }

    /** Every parameter, in creation order. */
    public List<Parameter> all() {
        return Collections.unmodifiableList(new ArrayList<>(byName.values()));
    }

    /** Every gradient tensor, in creation order. */
    public List<Tensor> grads() {
        return byName.values().stream().map(Parameter::grad).toList();
    }

    /** The total number of scalar parameters. */
    public long count() {
        long n = 0;
        for (Parameter p : byName.values()) {
            n += p.value().numel();
        }
        return n;
    }

    /** Sets every gradient to zero. */
    public void zeroGrads(Backend backend) {
        for (Parameter p : byName.values()) {
            backend.fill(p.grad(), 0f);
        }
    }
}
