//! Run the emulator on its fixed ports until Ctrl-C:
//! `cargo run -p lifeboat-emulator --example serve -- [clouds.yaml path] [topology.yaml]`.

fn main() {
    let mut args = std::env::args().skip(1);
    let mut opts = lifeboat_emulator::ServeOptions::default();
    if let Some(p) = args.next() {
        opts.clouds_yaml_path = p.into();
    }
    if let Some(t) = args.next() {
        match lifeboat_emulator::Topology::from_yaml_file(std::path::Path::new(&t)) {
            Ok(t) => opts.config.topology = t,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        }
    }
    if let Err(e) = lifeboat_emulator::serve(opts) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
