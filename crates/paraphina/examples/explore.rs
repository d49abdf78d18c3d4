use paraphina::config::{Overlay, SimConfig};
use paraphina::mc;
use paraphina::sim::Model;
use paraphina::stress::CompiledStress;

fn show(name: &str, cfg: &SimConfig) {
    let m = Model::new(cfg, CompiledStress::none()).unwrap();
    let rs = mc::run_batch(&m, 400, 1);
    let s = mc::summarize(cfg, &Overlay::default(), 1, &rs);
    let mv: f64 = rs.iter().map(|r| r.maker_volume_tao).sum::<f64>() / rs.len() as f64;
    let mq: f64 = rs.iter().map(|r| r.mean_abs_q_tao).sum::<f64>() / rs.len() as f64;
    let tc: f64 = rs.iter().map(|r| r.taker_cost_usd).sum::<f64>() / rs.len() as f64;
    println!("{name:30} tc {tc:6.1} maxq {:5.1} pnl {:8.1} sd {:7.1} dd {:7.1} kill {:.3} mvol {:7.1} meanq {:5.2} fees {:6.1}",
        s.aggregate.max_abs_q_tao.mean, s.aggregate.pnl.mean, s.aggregate.pnl.std, s.tail_risk.max_drawdown_var_cvar.cvar, s.aggregate.kill_rate, mv, mq, s.aggregate.fees_usd.mean);
}

fn ov(pairs: &[(&str, &str)]) -> SimConfig {
    SimConfig::new(600, &Overlay::from_pairs(pairs.iter().copied()).unwrap())
}
fn main() {
    show("default", &ov(&[]));
    for lim in ["400", "500", "600", "800"] {
        show(&format!("default lim {lim}"), &ov(&[("PARAPHINA_DAILY_LOSS_LIMIT", lim)]));
    }
    for p in ["conservative", "balanced", "aggressive"] { show(p, &ov(&[("PARAPHINA_RISK_PROFILE", p)])); }
    for x in ["0.02", "0.05", "0.1", "0.15"] { show(&format!("band {x}"), &ov(&[("PARAPHINA_HEDGE_BAND_BASE", x)])); }
    for x in ["0.5", "1.0", "1.5", "2.0"] { show(&format!("eta {x}"), &ov(&[("PARAPHINA_MM_SIZE_ETA", x)])); }
    for x in ["0.05", "0.08", "0.1", "0.15"] { show(&format!("volref {x}"), &ov(&[("PARAPHINA_VOL_REF", x)])); }
    for x in ["500", "1000", "3000"] { show(&format!("lim {x} eta2 agg"), &ov(&[("PARAPHINA_DAILY_LOSS_LIMIT", x), ("PARAPHINA_MM_SIZE_ETA", "2.0"), ("PARAPHINA_RISK_PROFILE", "aggressive")])); }
    for x in ["-30", "0", "15", "30"] { show(&format!("q0 {x}"), &ov(&[("PARAPHINA_INIT_Q_TAO", x)])); }
    for x in ["5", "10", "20"] { show(&format!("step {x} q0 30 band .02"), &ov(&[("PARAPHINA_HEDGE_MAX_STEP", x), ("PARAPHINA_INIT_Q_TAO", "30"), ("PARAPHINA_HEDGE_BAND_BASE", "0.02")])); }
}
