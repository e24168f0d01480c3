//! The `kiemtra` binary: a thin shell over [`kiemtra::cli`].

fn main() -> std::process::ExitCode {
    kiemtra::tune_allocator();
    kiemtra::cli::main()
}
