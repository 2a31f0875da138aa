package io.leviathan.backend;

import io.leviathan.tensor.Tensor;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;

/**
 * Wraps a backend so that every tensor handed to one of its operations must be device memory (not host
 * accessible), as a GPU backend requires. The strict CPU backend's arenas refuse host access; this guard
 * catches the opposite slip, a host tensor (from {@code new TensorArena()}, a mapped file) passed straight
 * into an operation instead of through {@link Backend#upload}. Host data crosses only as arrays and
 * segments, which the guard lets through.
 */
final class DeviceOnlyGuard implements InvocationHandler {
    private final Backend target;

    private DeviceOnlyGuard(Backend target) {
        this.target = target;
    }

    static Backend wrap(Backend target) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                new DeviceOnlyGuard(target));
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        if (args != null) {
            for (int i = 0; i < args.length; i++) {
                check(method, i, args[i]);
            }
        }
        if (method.getName().equals("toString") && method.getParameterCount() == 0) {
            return "DeviceOnlyGuard[" + target + "]";
        }
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static void check(Method method, int index, Object arg) {
        if (arg instanceof Tensor t) {
            if (t.isHostAccessible()) {
                throw new IllegalArgumentException(method.getName() + ": argument " + index + " " + t.describe()
                        + " is host memory; a device backend's operations take its own tensors (upload host data"
                        + " with Backend.upload)");
            }
        } else if (arg instanceof List<?> list) {
            for (Object o : list) {
                check(method, index, o);
            }
        }
    }
}
