fn main() {
    println!("aaa: under construction");
}
