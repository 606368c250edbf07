//! A small line diff (longest common subsequence) in unified style, for showing
//! how two normalized outcomes differ. Inputs are small (a pretty-printed answer),
//! so the quadratic table is fine; very long inputs fall back to whole replacement.

const MAX_CELLS: usize = 4_000_000;

/// `--- a` / `+++ b` headers, then every line: ` ` same, `-` only in `a`, `+` only
/// in `b`. Unchanged runs longer than six lines are shortened to their first and
/// last three lines around a `@@ … @@` marker.
pub fn unified(a: &str, b: &str, a_name: &str, b_name: &str) -> String {
    let x: Vec<&str> = a.lines().collect();
    let y: Vec<&str> = b.lines().collect();
    let ops = if x.len().saturating_mul(y.len()) > MAX_CELLS {
        x.iter()
            .map(|l| Op::Del(l))
            .chain(y.iter().map(|l| Op::Add(l)))
            .collect()
    } else {
        lcs_ops(&x, &y)
    };
    let mut out = format!("--- {a_name}\n+++ {b_name}\n");
    let mut i = 0;
    while i < ops.len() {
        if let Op::Same(_) = ops[i] {
            let start = i;
            while i < ops.len() && matches!(ops[i], Op::Same(_)) {
                i += 1;
            }
            let run = &ops[start..i];
            if run.len() > 6 {
                let head = if start == 0 { 0 } else { 3 };
                let tail = if i == ops.len() { 0 } else { 3 };
                for op in &run[..head] {
                    push(&mut out, op);
                }
                out.push_str(&format!(
                    "@@ {} unchanged lines @@\n",
                    run.len() - head - tail
                ));
                for op in &run[run.len() - tail..] {
                    push(&mut out, op);
                }
            } else {
                for op in run {
                    push(&mut out, op);
                }
            }
        } else {
            push(&mut out, &ops[i]);
            i += 1;
        }
    }
    out
}

enum Op<'a> {
    Same(&'a str),
    Del(&'a str),
    Add(&'a str),
}

fn push(out: &mut String, op: &Op) {
    let (mark, line) = match op {
        Op::Same(l) => (' ', l),
        Op::Del(l) => ('-', l),
        Op::Add(l) => ('+', l),
    };
    out.push(mark);
    out.push_str(line);
    out.push('\n');
}

fn lcs_ops<'a>(x: &[&'a str], y: &[&'a str]) -> Vec<Op<'a>> {
    let (n, m) = (x.len(), y.len());
    // table[i][j]: LCS length of x[i..] and y[j..].
    let mut table = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if x[i] == y[j] {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::new();
    while i < n && j < m {
        if x[i] == y[j] {
            ops.push(Op::Same(x[i]));
            i += 1;
            j += 1;
        } else if table[i + 1][j] >= table[i][j + 1] {
            ops.push(Op::Del(x[i]));
            i += 1;
        } else {
            ops.push(Op::Add(y[j]));
            j += 1;
        }
    }
    ops.extend(x[i..].iter().map(|l| Op::Del(l)));
    ops.extend(y[j..].iter().map(|l| Op::Add(l)));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_changed_lines() {
        let d = unified("a\nb\nc\n", "a\nB\nc\n", "x", "y");
        assert_eq!(d, "--- x\n+++ y\n a\n-b\n+B\n c\n");
    }
}
