//! Where an exporter's futures run: on the export thread itself (OTLP/HTTP: the blocking ureq
//! client needs nothing more), or, for OTLP/gRPC, on our own tokio runtime, which tonic needs
//! whether or not the instrumented program runs one.

#[cfg(feature = "grpc")]
use std::sync::Arc;

/// How an exporter's futures are run.
#[derive(Clone, Debug, Default)]
pub(crate) struct Runner {
    #[cfg(feature = "grpc")]
    runtime: Option<Arc<GrpcRuntime>>,
}

impl Runner {
    /// On the calling thread (polled by the export thread's executor).
    pub(crate) fn inline() -> Runner {
        Runner::default()
    }

    /// Runs `future` to completion.
    pub(crate) async fn run<F>(&self, future: F) -> F::Output
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        #[cfg(feature = "grpc")]
        if let Some(runtime) = &self.runtime {
            return runtime.block_on(future);
        }
        future.await
    }

    /// Runs `work` with the runtime (if any) entered: tonic spawns its connection tasks there.
    pub(crate) fn entered<T>(&self, work: impl FnOnce() -> T) -> T {
        #[cfg(feature = "grpc")]
        if let Some(runtime) = &self.runtime {
            let _entered = runtime.handle().enter();
            return work();
        }
        work()
    }
}

#[cfg(feature = "grpc")]
pub(crate) use grpc_runtime::GrpcRuntime;

#[cfg(feature = "grpc")]
mod grpc_runtime {
    use super::Runner;
    use std::sync::Arc;

    /// A one-worker tokio runtime that drives the gRPC exporters' connections. Export threads
    /// hand it their futures and wait (they are not async); an instrumented call never does.
    #[derive(Debug)]
    pub(crate) struct GrpcRuntime {
        runtime: Option<tokio::runtime::Runtime>,
    }

    impl GrpcRuntime {
        pub(crate) fn start() -> std::io::Result<Arc<GrpcRuntime>> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("factory-obs-grpc")
                .enable_all()
                .build()?;
            Ok(Arc::new(GrpcRuntime {
                runtime: Some(runtime),
            }))
        }

        pub(crate) fn runner(self: &Arc<Self>) -> Runner {
            Runner {
                runtime: Some(Arc::clone(self)),
            }
        }

        pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
            self.runtime.as_ref().expect("dropped only once").handle()
        }

        /// Runs `future` on this runtime and waits for it. From a thread that is itself inside
        /// a tokio runtime (where waiting on another runtime is refused), from a helper thread.
        pub(crate) fn block_on<F>(&self, future: F) -> F::Output
        where
            F: std::future::Future + Send,
            F::Output: Send,
        {
            let handle = self.handle();
            if tokio::runtime::Handle::try_current().is_err() {
                return handle.block_on(future);
            }
            std::thread::scope(|scope| {
                scope
                    .spawn(|| handle.block_on(future))
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
        }
    }

    impl Drop for GrpcRuntime {
        fn drop(&mut self) {
            // Never blocks, so the last exporter may be dropped anywhere, even in async code.
            if let Some(runtime) = self.runtime.take() {
                runtime.shutdown_background();
            }
        }
    }
}
