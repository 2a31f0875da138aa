package io.leviathan.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A vocabulary map's per-id table is sized by its tokenizer, never by a number read from the file. */
class VocabularyMapSizeTest {

    private static String json(String tokenizerVocabSize) {
        return "{\"format\":\"leviathan-vocab-map\",\"version\":1,\"tokenizer\":\"o200k_base\",\"tokenizerVocabSize\":"
                + tokenizerVocabSize + ",\"size\":3,\"originalIds\":[11,264,199999]}";
    }

    @ParameterizedTest
    @ValueSource(strings = {"1e400", "20001e3", "2147483647", "200019.5", "\"200019\"", "300000", "-1", "null"})
    void aSizeOtherThanTheTokenizersIsRefusedBeforeAllocating(String size) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VocabularyMap.fromJsonString(json(size), "vocab-map.json"));
        assertTrue(e.getMessage().startsWith("vocab-map.json: ") && e.getMessage().contains("tokenizerVocabSize"),
                e.getMessage());
    }

    @Test
    void theTokenizersOwnSizeReads() {
        VocabularyMap m = VocabularyMap.fromJsonString(json("200019"), "vocab-map.json");
        assertEquals(3, m.size());
        assertEquals(200_019, m.tokenizerVocabSize());
    }
}
