use clap::Parser;

fn main() {
    let cli = iotstack::cli::Cli::parse();
    let code = iotstack::commands::run(cli);
    std::process::exit(code);
}
