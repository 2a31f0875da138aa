package io.leviathan.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.bindings.cuda.CuDnn;
import org.junit.jupiter.api.Test;

/**
 * The plan cache over the recording fake: engine configurations are tried in the heuristic's order until one
 * finalizes, a declined or refused graph becomes a remembered reason, nothing leaks on any path, and the variant
 * pack is rebuilt only when a pointer changes.
 */
class CudnnPlanCacheTest {
    private static final CudnnAttentionGraphs.Shape SHAPE = new CudnnAttentionGraphs.Shape(2, 64, 2, 64);
    private static final CudnnPlanCache.Key FORWARD = new CudnnPlanCache.Key(false, SHAPE);

    private static long count(RecordingCudnnApi api, String prefix) {
        return api.calls.stream().filter(l -> l.startsWith(prefix)).count();
    }

    @Test
    void thePlanIsTheFirstConfigurationThatFinalizesAndIsBuiltOnce() {
        RecordingCudnnApi api = new RecordingCudnnApi();
        api.offered = 5;
        api.declinedPlans = 2;
        try (CudnnPlanCache cache = new CudnnPlanCache(api, RecordingCudnnApi.HANDLE)) {
            CudnnPlanCache.Entry e = cache.get(FORWARD);
            assertNotNull(e.plan(), e.reason());
            assertEquals(3, count(api, "create CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR"), "two declined, the third kept");
            assertEquals(2, count(api, "destroy"), "each declined plan is destroyed at once");
            int calls = api.calls.size();
            assertSame(e, cache.get(FORWARD));
            assertEquals(calls, api.calls.size(), "a cached plan makes no calls");
            assertEquals(1, cache.size());
        }
        assertEquals(0, api.live());
        assertEquals(api.created, api.destroyed);
    }

    @Test
    void whenEveryConfigurationDeclinesTheReasonIsRememberedAndNothingLeaks() {
        RecordingCudnnApi api = new RecordingCudnnApi();
        api.offered = 2;
        api.declinedPlans = 2;
        try (CudnnPlanCache cache = new CudnnPlanCache(api, RecordingCudnnApi.HANDLE)) {
            CudnnPlanCache.Entry e = cache.get(FORWARD);
            assertNull(e.plan());
            assertTrue(e.reason().contains("no cuDNN plan for the forward B=2 T=64 H=2 Dh=64 graph"), e.reason());
            assertTrue(e.reason().contains("2 of 2 engine configurations tried"), e.reason());
            assertTrue(e.reason().contains("status 3000"), e.reason());
            assertEquals(0, api.live(), "a declined graph's descriptors are all destroyed");
            int calls = api.calls.size();
            assertSame(e, cache.get(FORWARD));
            assertEquals(calls, api.calls.size(), "a declined shape is not asked about again");
        }
    }

    @Test
    void noEngineOnOffer() {
        RecordingCudnnApi api = new RecordingCudnnApi();
        api.offered = 0;
        try (CudnnPlanCache cache = new CudnnPlanCache(api, RecordingCudnnApi.HANDLE)) {
            CudnnPlanCache.Entry e = cache.get(new CudnnPlanCache.Key(true, SHAPE));
            assertNull(e.plan());
            assertTrue(e.reason().contains("the heuristic offers no engine"), e.reason());
        }
        assertEquals(0, api.live());
    }

    @Test
    void aRefusedAttributeHalfwayThroughTheGraphLeaksNothing() {
        RecordingCudnnApi api = new RecordingCudnnApi();
        api.failingAttribute = CuDnn.CUDNN_ATTR_REDUCTION_OPERATOR;
        try (CudnnPlanCache cache = new CudnnPlanCache(api, RecordingCudnnApi.HANDLE)) {
            CudnnPlanCache.Entry e = cache.get(FORWARD);
            assertNull(e.plan());
            assertTrue(e.reason().startsWith("cuDNN refused the forward B=2 T=64 H=2 Dh=64 graph: cudnnBackendSetAttribute"),
                    e.reason());
            assertEquals(0, api.live());
        }
    }

    @Test
    void theVariantPackIsRebuiltOnlyWhenAPointerChanges() {
        RecordingCudnnApi api = new RecordingCudnnApi();
        try (CudnnPlanCache cache = new CudnnPlanCache(api, RecordingCudnnApi.HANDLE)) {
            CudnnPlan plan = cache.get(FORWARD).plan();
            long[] ptrs = new long[plan.uids().length];
            java.util.Arrays.setAll(ptrs, i -> 0x1000L * (i + 1));
            plan.execute(ptrs, 0x9000);
            plan.execute(ptrs, 0x9000);
            assertEquals(1, count(api, "create CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR"));
            ptrs[2] = 0x7000;
            plan.execute(ptrs, 0x9000);
            plan.execute(ptrs, 0xA000);
            assertEquals(3, count(api, "create CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR"));
            assertEquals(4, count(api, "execute handle"));
            assertTrue(api.calls.contains("set d" + (api.created) + " CUDNN_ATTR_VARIANT_PACK_WORKSPACE CUDNN_TYPE_VOID_PTR x1 = [0xa000]"),
                    String.join("\n", api.calls.subList(api.calls.size() - 8, api.calls.size())));
        }
        assertEquals(0, api.live());
    }
}
