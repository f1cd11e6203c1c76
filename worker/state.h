// state.h: what a worker process checks and opens before it is ready.
// Called from main.cc only, before any accept thread starts: handlers read
// what is opened here without locks.
#pragma once

#include "app.h"

namespace folio {

// Data directory writable, LMDB environment and session store open (into
// app). The first failure is returned; the caller reports it on /ready.
Status OpenState(App& app);

// The system prompt (PROMPT_FILE), the LLM client and the circuit breaker
// shared by every worker process ($RUN_DIR/breaker.shm; a process that
// cannot map it gets one of its own). Fails only on a bad PROMPT_FILE.
Status OpenLlm(App& app);

}  // namespace folio
