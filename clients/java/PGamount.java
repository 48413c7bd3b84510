// PGamount.java — gpubill.amount for pgjdbc (issue 16): an exact BigDecimal
// (six decimals at most) and a currency, in text and in binary.
//
//     Gpubill.register(conn);                                   // once per connection
//     ps.setObject(2, new PGamount(new BigDecimal("100.00"), "CNY"));
//     PGamount cash = (PGamount) rs.getObject("cash");          // cash.getAmount(), cash.getCurrency()
//
// Binary transfer (pgjdbc's binaryTransferEnable=<the type's oid>) uses
// toBytes / setByteValue: int8 micro-units, then the three currency letters.
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import org.postgresql.util.PGBinaryObject;
import org.postgresql.util.PGobject;

public class PGamount extends PGobject implements PGBinaryObject {
    private static final long serialVersionUID = 1L;
    /** how many values were read and written in binary (tests check binary transfer happened) */
    public static int binaryReads, binaryWrites;
    private BigDecimal amount;
    private String currency;

    public PGamount() {
        setType("gpubill.amount");
    }

    public PGamount(BigDecimal amount, String currency) {
        this();
        set(amount, currency);
    }

    private void set(BigDecimal a, String c) {
        if (a.stripTrailingZeros().scale() > 6)
            throw new IllegalArgumentException("an amount has at most 6 decimals: " + a);
        if (c == null || !c.matches("[A-Z]{3}"))
            throw new IllegalArgumentException("a currency is three capital letters: " + c);
        amount = a;
        currency = c;
    }

    public BigDecimal getAmount() { return amount; }

    public String getCurrency() { return currency; }

    @Override
    public void setValue(String value) throws SQLException {
        if (value == null) { amount = null; currency = null; return; }
        String[] p = value.split(" ");
        set(new BigDecimal(p[0]), p[1]);
    }

    @Override
    public String getValue() {
        return amount == null ? null : amount.toPlainString() + " " + currency;
    }

    @Override
    public void setByteValue(byte[] b, int offset) {
        binaryReads++;
        ByteBuffer buf = ByteBuffer.wrap(b, offset, 11);
        long micros = buf.getLong();
        byte[] cur = new byte[3];
        buf.get(cur);
        set(plain(BigDecimal.valueOf(micros, 6)), new String(cur, StandardCharsets.US_ASCII));
    }

    @Override
    public int lengthInBytes() { return 11; }

    @Override
    public void toBytes(byte[] b, int offset) {
        binaryWrites++;
        ByteBuffer buf = ByteBuffer.wrap(b, offset, 11);
        buf.putLong(amount.movePointRight(6).longValueExact());
        buf.put(currency.getBytes(StandardCharsets.US_ASCII));
    }

    // as gpubill prints it: two decimals at least, six at most
    static BigDecimal plain(BigDecimal v) {
        BigDecimal s = v.stripTrailingZeros();
        return s.scale() < 2 ? v.setScale(2) : s;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof PGamount)) return false;
        PGamount a = (PGamount) o;
        return amount == null ? a.amount == null
            : a.amount != null && amount.compareTo(a.amount) == 0 && currency.equals(a.currency);
    }

    @Override
    public int hashCode() { return amount == null ? 0 : amount.stripTrailingZeros().hashCode() * 31 + currency.hashCode(); }

    @Override
    public String toString() { return getValue(); }
}
