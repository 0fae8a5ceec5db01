// Numeric kernels that reproduce NumPy's floating-point results operation for operation, so the
// Swift pipeline equals the Python one (edgekit.data) to within 1e-9 ms, usually bit for bit.

import Foundation

enum NumPy {
    /// `np.sum` of a contiguous float64 array: NumPy's pairwise summation (blocks of 128, eight
    /// partial sums unrolled), which differs from a naive left-to-right loop in the last bits.
    static func sum(_ a: ArraySlice<Double>) -> Double {
        let n = a.count
        let base = a.startIndex
        if n < 8 {
            var res = 0.0
            for x in a { res += x }
            return res
        }
        if n <= 128 {
            var r0 = a[base], r1 = a[base + 1], r2 = a[base + 2], r3 = a[base + 3]
            var r4 = a[base + 4], r5 = a[base + 5], r6 = a[base + 6], r7 = a[base + 7]
            var i = 8
            while i < n - (n % 8) {
                r0 += a[base + i]
                r1 += a[base + i + 1]
                r2 += a[base + i + 2]
                r3 += a[base + i + 3]
                r4 += a[base + i + 4]
                r5 += a[base + i + 5]
                r6 += a[base + i + 6]
                r7 += a[base + i + 7]
                i += 8
            }
            var res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
            while i < n {
                res += a[base + i]
                i += 1
            }
            return res
        }
        var n2 = n / 2
        n2 -= n2 % 8
        return sum(a[base..<(base + n2)]) + sum(a[(base + n2)..<a.endIndex])
    }

    static func sum(_ a: [Double]) -> Double { sum(a[...]) }

    /// `np.mean`; NaN for an empty array.
    static func mean(_ a: [Double]) -> Double {
        a.isEmpty ? .nan : sum(a) / Double(a.count)
    }

    /// `np.var(a, ddof=ddof)`: mean, squared deviations, pairwise sum, divided by n - ddof.
    static func variance(_ a: [Double], ddof: Int) -> Double {
        guard a.count > ddof else { return .nan }
        let m = sum(a) / Double(a.count)
        let sq = a.map { ($0 - m) * ($0 - m) }
        return sum(sq) / Double(a.count - ddof)
    }

    /// Quantile `q` of already sorted values with NumPy's default `linear` method.
    static func sortedQuantile(_ w: [Double], _ q: Double) -> Double {
        let cnt = w.count
        guard cnt > 0 else { return .nan }
        let pos = q * Double(cnt - 1)
        let lo = Int(pos.rounded(.down))
        let hi = min(lo + 1, cnt - 1)
        let frac = pos - Double(lo)
        return w[lo] + frac * (w[hi] - w[lo])
    }

    /// `np.median` of an unsorted array (mean of the two middle values for an even count).
    static func median(_ a: ArraySlice<Double>) -> Double {
        guard !a.isEmpty else { return .nan }
        let s = a.sorted()
        let n = s.count
        if n % 2 == 1 { return s[n / 2] }
        return (s[n / 2 - 1] + s[n / 2]) / 2.0
    }

    /// `np.interp(x, xp, fp)` for increasing `xp`, values held constant outside `xp`.
    static func interp(_ x: Double, _ xp: [Double], _ fp: [Double]) -> Double {
        let last = xp.count - 1
        if x > xp[last] { return fp[last] }
        if x < xp[0] { return fp[0] }
        if last == 0 { return fp[0] }
        // largest j with xp[j] <= x
        var lo = 0
        var hi = last
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if xp[mid] <= x { lo = mid } else { hi = mid }
        }
        let j = xp[hi] <= x ? hi : lo
        if j == last { return fp[last] }
        if xp[j] == x { return fp[j] }
        let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
        return slope * (x - xp[j]) + fp[j]
    }
}
