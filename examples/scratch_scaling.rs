use nnsimd::{Activation, Isa};
use rayon::prelude::*;
use std::time::Instant;
fn stats(name: &str, mut f: impl FnMut()) {
    let mut ts = Vec::new();
    for _ in 0..1000 {
        let s = Instant::now();
        f();
        ts.push(s.elapsed().as_secs_f64() * 1e6);
    }
    ts.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{name}: min {:.0} us p10 {:.0} p50 {:.0} p90 {:.0}", ts[0], ts[100], ts[500], ts[900]);
}
fn main() {
    let n = 1 << 20;
    let x: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 / 100.0 - 5.0).collect();
    let mut y = vec![0.0f32; n];
    let act = Activation::GeluTanh;
    let pin = std::env::var("PIN").is_ok();
    for t in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .start_handler(move |i| {
                if pin {
                    let me = std::fs::read_link("/proc/thread-self").unwrap();
                    let tid = me.file_name().unwrap().to_str().unwrap().to_string();
                    let o = std::process::Command::new("taskset")
                        .args(["-pc", &i.to_string(), &tid])
                        .output()
                        .unwrap();
                    eprintln!("pinned {i}: {}", String::from_utf8_lossy(&o.stdout).trim());
                }
            })
            .build()
            .unwrap();
        pool.install(|| {
            stats(&format!("t={t} forward_with"), || act.forward_with(Isa::Avx512, &x, &mut y).unwrap());
            stats(&format!("t={t} manual par_chunks"), || {
                x.par_chunks(16384)
                    .zip(y.par_chunks_mut(16384))
                    .for_each(|(x, y)| act.forward_with(Isa::Avx512, x, y).unwrap())
            });
            let ids = std::sync::Mutex::new(std::collections::BTreeMap::new());
            x.par_chunks(16384).zip(y.par_chunks_mut(16384)).for_each(|(x, y)| {
                act.forward_with(Isa::Avx512, x, y).unwrap();
                *ids.lock().unwrap().entry(rayon::current_thread_index()).or_insert(0) += 1;
            });
            println!("chunks per thread: {:?}", ids.lock().unwrap());
        });
    }
}
