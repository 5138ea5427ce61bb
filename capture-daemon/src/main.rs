fn main() {
    println!("aaa-camera-daemon: under construction");
}
