//! The three stages as one task in kit's loop: `sft` (imitate demonstrations), `reward`
//! (Bradley–Terry on pairs), `policy` (DPO on pairs, or RLOO on the reward model's score with
//! a KL penalty). Only the trained model is in the run's VarStore and checkpoints; the frozen
//! reference policy and the reward-model judge are loaded from the runs the config names.

use crate::config::{Config, Stage};
use crate::data::{collate, sampled_tokens, Batch, Example, Examples};
use crate::eval::{self, PolicyEval, RewardEval};
use crate::model::{to_device, Lm, RewardModel};
pub use crate::sources::{
    demo_pairs, label_pairs, load_judge, load_policy, sources, toy_pairs, toy_prompts, Frozen,
    TestSet,
};
use kit::data::Loader;
use kit::logging::Logger;
use kit::train::{Losses, Metrics, StepContext, Task};
use loss_zoo::preference::{bradley_terry_loss, dpo_loss};
use std::sync::Arc;
use tch::{nn, Device, Kind};
/// What is trained.
pub enum Trained {
    Policy(Lm),
    Reward(RewardModel),
}

pub struct RlhfTask {
    pub vs: nn::VarStore,
    pub model: Trained,
    pub reference: Option<Frozen<Lm>>,
    pub judge: Option<Frozen<RewardModel>>,
    pub cfg: Config,
    train: Loader<Examples, Batch>,
    pub test: TestSet,
    pub device: Device,
}

impl RlhfTask {
    /// The task of `cfg`'s stage; `reference` / `judge` are loaded from the runs the config
    /// names when the stage (or its evaluation) needs them.
    pub fn new(
        cfg: &Config,
        device: Device,
        examples: Vec<Example>,
        test: TestSet,
    ) -> anyhow::Result<Self> {
        let mut vs = nn::VarStore::new(device);
        let model = match cfg.stage {
            Stage::Reward => Trained::Reward(RewardModel::new(&vs.root(), &cfg.model)),
            _ => Trained::Policy(Lm::new(&vs.root(), &cfg.model)),
        };
        let reference = if cfg.stage == Stage::Policy {
            let r = load_policy(&cfg.data.sft_run, cfg, device)?;
            // The policy starts as the SFT policy (a resumed run then loads its own checkpoint).
            vs.copy(&r.vs)?;
            Some(r)
        } else {
            None
        };
        let judge = if cfg.policy.reward_run.is_empty() || cfg.stage == Stage::Reward {
            None
        } else {
            Some(load_judge(&cfg.policy.reward_run, cfg, device)?)
        };
        let max_len = cfg.data.max_len;
        let train = Loader::training(
            Arc::new(Examples(examples)),
            &cfg.train,
            Arc::new(move |items| collate(items, max_len)),
        );
        Ok(Self {
            vs,
            model,
            reference,
            judge,
            cfg: cfg.clone(),
            train,
            test,
            device,
        })
    }

    pub fn policy(&self) -> Option<&Lm> {
        match &self.model {
            Trained::Policy(p) => Some(p),
            Trained::Reward(_) => None,
        }
    }

    fn rl_step(&self, prompts: &[String]) -> anyhow::Result<Losses> {
        let (p, d) = (&self.cfg.policy, &self.cfg.data);
        let policy = self
            .policy()
            .ok_or_else(|| anyhow::anyhow!("RL needs a policy"))?;
        let (reference, judge) = match (&self.reference, &self.judge) {
            (Some(r), Some(j)) => (&r.model, &j.model),
            _ => anyhow::bail!("RL needs the SFT reference and the reward model"),
        };
        let k = p.samples;
        let resp = tch::no_grad(|| {
            policy.sample(prompts, k, d.max_len, p.max_new, p.temperature, self.device)
        });
        let texts: Vec<(&str, &str)> = resp
            .iter()
            .enumerate()
            .map(|(i, r)| (prompts[i / k].as_str(), r.as_str()))
            .collect();
        let t = to_device(&sampled_tokens(&texts, d.max_len, p.max_new), self.device);
        let logp = policy.seq_logprobs(&t); // with gradient
        let (reward, kl) = tch::no_grad(|| {
            (
                judge.rewards(&t),
                &logp.detach() - reference.seq_logprobs(&t),
            )
        });
        // The reward model's score less the KL leash, per sample; RLOO baselines each sample
        // by the other k − 1 of its prompt.
        let shaped = &reward - &kl * p.kl_coef;
        let loss = loss_zoo::preference::rloo_loss(&logp, &shaped, k)?;
        Ok(Losses {
            total: loss,
            terms: vec![
                ("proxy_reward".into(), reward.mean(Kind::Float)),
                ("kl".into(), kl.mean(Kind::Float)),
                ("shaped_reward".into(), shaped.mean(Kind::Float)),
            ],
            samples: texts.len(),
        })
    }

    /// The policy-stage evaluation on the test prompts (also used by `eval`).
    pub fn policy_eval(&self) -> anyhow::Result<PolicyEval> {
        let policy = self
            .policy()
            .ok_or_else(|| anyhow::anyhow!("not a policy run"))?;
        eval::evaluate_policy(
            policy,
            self.reference.as_ref().map(|r| &r.model),
            self.judge.as_ref().map(|j| &j.model),
            &self.test.prompts,
            &self.cfg,
            self.device,
        )
    }

    /// The reward-model evaluation on the test pairs (also used by `eval`).
    pub fn reward_eval(&self) -> anyhow::Result<RewardEval> {
        let Trained::Reward(rm) = &self.model else {
            anyhow::bail!("not a reward-model run");
        };
        eval::evaluate_reward(rm, &self.test.pairs, &self.cfg, self.device)
    }
}

/// The chosen (first) and rejected (second) halves of a [`Batch::Pairs`] result.
fn halves(x: &tch::Tensor) -> (tch::Tensor, tch::Tensor) {
    let b = x.size()[0] / 2;
    (x.narrow(0, 0, b), x.narrow(0, b, b))
}

impl Task for RlhfTask {
    type Batch = Batch;
    type Data = Examples;
    kit::task_parts!(vs, train);

    fn train_step(&mut self, batch: Batch, _ctx: &mut StepContext) -> anyhow::Result<Losses> {
        let dev = self.device;
        match (&self.model, batch) {
            (Trained::Policy(lm), Batch::Demos(t)) => {
                let t = to_device(&t, dev);
                let loss = lm.sft_loss(&t);
                Ok(Losses {
                    terms: vec![("nll_per_byte".into(), loss.detach())],
                    total: loss,
                    samples: t.ids.size()[0] as usize,
                })
            }
            (Trained::Reward(rm), Batch::Pairs(both)) => {
                let (c, r) = halves(&rm.rewards(&to_device(&both, dev)));
                let coef = self.cfg.reward.center_coef;
                let loss = bradley_terry_loss(&c, &r, None, (coef > 0.0).then_some(coef))?;
                let acc = c.gt_tensor(&r).to_kind(Kind::Float).mean(Kind::Float);
                Ok(Losses {
                    terms: vec![
                        ("bt_loss".into(), loss.detach()),
                        ("accuracy".into(), acc),
                        ("margin".into(), (&c - &r).mean(Kind::Float).detach()),
                    ],
                    total: loss,
                    samples: c.size()[0] as usize,
                })
            }
            (Trained::Policy(lm), Batch::Pairs(both)) => {
                let reference = &self
                    .reference
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("DPO needs the SFT reference"))?
                    .model;
                let both = to_device(&both, dev);
                let (rc, rr) = halves(&tch::no_grad(|| reference.seq_logprobs(&both)));
                let (pc, pr) = halves(&lm.seq_logprobs(&both));
                let out = dpo_loss(&pc, &pr, &rc, &rr, self.cfg.policy.beta)?;
                let acc = out
                    .chosen_rewards
                    .gt_tensor(&out.rejected_rewards)
                    .to_kind(Kind::Float)
                    .mean(Kind::Float);
                Ok(Losses {
                    terms: vec![
                        ("dpo_loss".into(), out.loss.detach()),
                        (
                            "rewards/chosen".into(),
                            out.chosen_rewards.mean(Kind::Float),
                        ),
                        (
                            "rewards/rejected".into(),
                            out.rejected_rewards.mean(Kind::Float),
                        ),
                        ("rewards/accuracy".into(), acc),
                    ],
                    samples: pc.size()[0] as usize,
                    total: out.loss,
                })
            }
            (Trained::Policy(_), Batch::Prompts(p)) => self.rl_step(&p),
            _ => anyhow::bail!("this stage got a batch of another stage's kind"),
        }
    }

    fn evaluate(&mut self, logger: &mut Logger, step: u64) -> anyhow::Result<Metrics> {
        let s = step as i64;
        match self.cfg.stage {
            Stage::Reward => {
                let e = self.reward_eval()?;
                logger
                    .tb
                    .histogram("test/margin r_c − r_r", s, &e.margins, 40)?;
                logger
                    .tb
                    .histogram("test/reward chosen", s, &e.chosen, 40)?;
                logger
                    .tb
                    .histogram("test/reward rejected", s, &e.rejected, 40)?;
                Ok(Metrics {
                    values: e.metrics(),
                    selection: "accuracy".into(),
                    higher_is_better: true,
                })
            }
            _ => {
                let e = self.policy_eval()?;
                let mut values = e.metrics();
                if let (Some(lm), false) = (self.policy(), self.test.pairs.is_empty()) {
                    values.push((
                        "chosen_logprob".into(),
                        eval::chosen_logprob(lm, &self.test.pairs, &self.cfg, self.device),
                    ));
                }
                logger.tb.text("test/samples", s, &e.samples_markdown(8))?;
                if self.cfg.stage == Stage::Policy {
                    eval::append_curve(logger.run_root(), step, &e)?;
                    if let Some(img) = eval::curve_picture(logger.run_root())? {
                        logger
                            .tb
                            .image("test/gold and proxy reward against KL", s, &img)?;
                    }
                }
                // What a practitioner can see: the judge's score in the policy stage; the gold
                // reward for the toy SFT policy; else the fit to held-out preferred answers.
                let has = |k: &str| values.iter().any(|(n, _)| n == k);
                let selection = if self.cfg.stage == Stage::Policy && has("proxy_reward") {
                    "proxy_reward"
                } else if has("gold_reward") {
                    "gold_reward"
                } else if has("proxy_reward") {
                    "proxy_reward"
                } else {
                    "chosen_logprob"
                };
                Ok(Metrics {
                    values,
                    selection: selection.into(),
                    higher_is_better: true,
                })
            }
        }
    }
}
