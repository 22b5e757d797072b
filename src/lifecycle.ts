/**
 * Where a Reactor or a Pipeline is in its life: `idle` until `start()`,
 * `starting`, `running`, then `stopping` and `stopped` after `close()` (a
 * Reactor's `shutdown()`). `failed`: a Reactor's `start()` failed, what it
 * had opened is closed again, and it cannot be started again (make a new
 * one). A Pipeline whose start failed is `idle` again and may be started
 * again.
 */
export type LifecycleState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';
