//! The capacity the surviving regions need while one region is out: the N+1
//! numbers of the definition (`[capacity]` peak and per-instance rate). Pure.

use crate::aws::dr_compute::AsgLimits;
use crate::stack::StackDef;

/// Instances one surviving region must run for the survivors to carry peak.
pub fn per_survivor(def: &StackDef, survivors: usize) -> u32 {
    let per_instance = def.capacity.rps_per_instance.max(1);
    let total = def.capacity.peak_rps.div_ceil(per_instance);
    total.div_ceil(survivors.max(1) as u32)
}

/// The limits a surviving region gets: at least `need` running (min and desired,
/// so scaling in cannot drop below peak), and a max that still carries `need`
/// after the loss of one of its `azs` availability zones. Never lowers a limit.
pub fn survivor_limits(current: AsgLimits, need: u32, azs: usize) -> AsgLimits {
    let az_headroom = if azs >= 2 {
        (need as usize * azs).div_ceil(azs - 1) as u32
    } else {
        need
    };
    let min = current.min.max(need);
    let desired = current.desired.max(need);
    let max = current.max.max(az_headroom).max(desired);
    AsgLimits { min, desired, max }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(min: u32, desired: u32, max: u32) -> AsgLimits {
        AsgLimits { min, desired, max }
    }

    #[test]
    fn survivors_are_raised_to_carry_peak_with_an_az_spare() {
        // 900 rps at 100 per instance over 2 survivors: 5 each; with 2 AZs the max
        // must be 10 so that one AZ left still runs 5.
        let got = survivor_limits(limits(2, 2, 4), 5, 2);
        assert_eq!(got, limits(5, 5, 10));
        // 3 AZs: 5 * 3 / 2 = 7.5 -> 8.
        assert_eq!(survivor_limits(limits(2, 2, 4), 5, 3).max, 8);
    }

    #[test]
    fn limits_are_never_lowered() {
        assert_eq!(survivor_limits(limits(6, 8, 20), 2, 2), limits(6, 8, 20));
    }
}
