// fuzz_app.h: the App the handler harness calls handlers with, made once per
// fuzzing process — like tests/support/test_app.h, without gtest: the sample
// KB (kb/) indexed into a fresh temporary directory (under /dev/shm when it
// exists, so LMDB's synced commits cost no disk flush), LMDB state opened,
// and no LLM configured (chat answers are degraded, composed from passages).
// The directory is removed at normal exit. Not thread-safe; one per process.
#pragma once

#include <string>

#include "app.h"

namespace folio::fuzz {

// A session that exists (its id is in fuzz/handlers.dict), so follow-up
// questions reach the session's history.
inline constexpr char kKnownSessionId[] = "AAAAAAAAAAAAAAAAAAAAAA";
// A question whose answer is in the response cache (a hit: no retrieval).
inline constexpr char kCachedQuestion[] = "What is Lantern?";

// The process's App; aborts if it cannot be made (the harness is useless).
App& FuzzApp();

// Keeps the state bounded over millions of inputs: every `every` calls,
// deletes every session and re-creates the known session and cache entry.
void ResetStateEvery(int every);

}  // namespace folio::fuzz
