use factory_observability::pipeline_run;

#[pipeline_run]
fn serve() -> ! {
    loop {
        std::thread::park();
    }
}

fn main() {}
