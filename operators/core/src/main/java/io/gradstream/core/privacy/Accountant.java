package io.gradstream.core.privacy;

/**
 * Which accountant turns a model's privacy ledger into epsilon: the RDP of the sampled Gaussian mechanism (Mironov,
 * Talwar, Zhang 2019, arXiv:1908.10530) or the privacy random variable accountant (Gopi, Lee, Wutschitz 2021,
 * arXiv:2106.02848; Opacus' default), whose epsilon is its guaranteed upper bound.
 */
public enum Accountant {
    /** Rényi DP with Opacus' orders and conversion; every model created before accountants were selectable. */
    RDP,
    /** The PRV accountant with Opacus' default errors; tighter than RDP for the same steps. */
    PRV
}
