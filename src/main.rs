//! The `kiemtra` binary: a thin shell over [`kiemtra::cli`].

fn main() -> std::process::ExitCode {
    kiemtra::tune_allocator();
    kiemtra::raise_fd_limit();
    kiemtra::cli::main()
}
